//! A short port-to-service table for the services a hospital cares about.
//! It names what a port usually carries; dissectors that find the protocol
//! by content override it.

/// The usual service on `port` for IP protocol `proto` (6 TCP, 17 UDP).
pub fn service_name(proto: u8, port: u16) -> Option<&'static str> {
    let tcp = proto == 6;
    Some(match (tcp, port) {
        (true, 104) | (true, 11112) | (true, 4242) => "dicom",
        (true, 2762) => "dicom-tls",
        (true, 2575) => "hl7",
        (true, 21) => "ftp",
        (true, 22) => "ssh",
        (true, 23) => "telnet",
        (true, 25) | (true, 587) => "smtp",
        (_, 53) => "dns",
        (false, 67) | (false, 68) => "dhcp",
        (false, 69) => "tftp",
        (true, 80) | (true, 8080) | (true, 8000) => "http",
        (false, 123) => "ntp",
        (false, 137) => "netbios-ns",
        (true, 139) | (true, 445) => "smb",
        (false, 161) | (false, 162) => "snmp",
        (true, 389) => "ldap",
        (true, 443) | (true, 8443) => "https",
        (false, 514) => "syslog",
        (true, 502) => "modbus",
        (true, 1433) => "mssql",
        (true, 1883) => "mqtt",
        (true, 8883) => "mqtt-tls",
        (false, 1900) => "ssdp",
        (true, 3306) => "mysql",
        (true, 3389) => "rdp",
        (false, 5353) => "mdns",
        (false, 5355) => "llmnr",
        (true, 5900) => "vnc",
        (false, 47808) => "bacnet",
        _ => return None,
    })
}
