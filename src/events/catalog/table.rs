//! The catalogue table: one line per provider and group of event ids, saying what the events
//! are about (`Kind`), whether they report a success or a failure (`Outcome`), what they mean in
//! one line, and which fields to keep. Only the data lives here; `super::type_event` applies it.
//!
//! Field names are what rdplog's readers produce (EventData `Name` attributes, UserData leaf
//! element names, unnamed `<Data>` as "Data1", "Data2", ...). They were checked against the
//! public corpus (../shared/corpus/evtx) read by evtx_dump 0.15.1; see tests/catalog_corpus.rs.
//! Meanings: rdp-facts.md §4, the providers' message tables (scheatkode/brain event-log pages,
//! nasbench EVTX-ETW-Resources), Microsoft's audit-event documentation (event-4740, -4776,
//! -4825) and the RD Gateway event pages on learn.microsoft.com (previous-versions ee891388,
//! cc727375 for 304, cc775204 for 305, cc775238 for 306, ee890851 for 307, ee891329 for 309).

use super::{
    CLIENT, CORE, EVENTLOG, Entry, GATEWAY, KERNEL_GENERAL, Kind, LSASRV, LSM, Outcome, RCM, SCHANNEL, SCM, SECURITY,
    TERMDD, USER32,
};

macro_rules! outcome {
    (ok) => {
        Some(Outcome::Success)
    };
    (fail) => {
        Some(Outcome::Failure)
    };
    (-) => {
        None
    };
}

macro_rules! e {
    ($p:expr, [$($id:expr),+], $k:ident, $o:tt, $m:expr, [$($f:expr),*]) => {
        Entry { provider: $p, ids: &[$($id),+], kind: Kind::$k, outcome: outcome!($o), meaning: $m, fields: &[$($f),*] }
    };
}

#[rustfmt::skip]
pub const CATALOG: &[Entry] = &[
    // Service Control Manager (System) — only for TermService, see `concerns_termservice`.
    e!(SCM, [7000, 7001, 7009, 7011, 7022, 7023, 7024], Service, fail, "Remote Desktop Services failed to start, hung or stopped with an error", ["param1", "param2", "param3"]),
    e!(SCM, [7031, 7034], Service, fail, "Remote Desktop Services terminated unexpectedly", ["param1", "param2", "param3", "param5", "Binary"]),
    e!(SCM, [7036], Service, -, "Remote Desktop Services changed state (running/stopped)", ["param1", "param2", "Binary"]),
    // Schannel (System)
    e!(SCHANNEL, [36870], TlsCredential, fail, "fatal error accessing the TLS credential's private key", ["Type", "ErrorCode", "ErrorStatus", "ErrorState"]),
    e!(SCHANNEL, [36871], TlsCredential, fail, "fatal error creating the TLS credential", ["Type", "ErrorState", "ErrorCode"]),
    e!(SCHANNEL, [36874], TlsHandshake, fail, "TLS connection request received but no cipher suite is supported by both sides", ["Protocol", "Data1"]),
    e!(SCHANNEL, [36887], TlsHandshake, fail, "fatal TLS alert received from the peer", ["AlertDesc", "ErrorState"]),
    e!(SCHANNEL, [36888], TlsHandshake, fail, "fatal TLS alert generated and sent to the peer", ["AlertDesc", "ErrorState", "TargetName"]),
    // TermDD (System): unnamed Data, Data1 = \Device\Termdd, Data2 = component (50) or client IP (56).
    e!(TERMDD, [50], ProtocolError, fail, "an RDP protocol component found a stream error and dropped the client", ["Data2", "Data3", "Binary"]),
    e!(TERMDD, [56], ProtocolError, fail, "the RDP security layer found a stream error and dropped the client", ["Data2", "Binary"]),
    // RemoteConnectionManager (Operational, Admin; a few ids also in System)
    e!(RCM, [258], Listener, -, "RDP listener started", ["listenerName"]),
    e!(RCM, [259], Listener, -, "RDP listener stopped", ["listenerName"]),
    e!(RCM, [262], Listener, -, "RDP listener was asked to stop", ["listenerName"]),
    e!(RCM, [261], Connection, -, "RDP listener received a connection (before TLS and NLA)", ["listenerName"]),
    e!(RCM, [1012], AuthFailure, fail, "a remote session exceeded the allowed failed logon attempts and was ended", ["Param1"]),
    e!(RCM, [1050, 1051, 1059], Certificate, -, "listener security settings or certificate configuration corrected", []),
    e!(RCM, [1052, 1053, 1054, 1055], Certificate, fail, "configured RDP certificate expiring, expired, lacking Server Authentication or with an inaccessible private key", []),
    e!(RCM, [1056], Certificate, -, "new self-signed RDP certificate generated", []),
    e!(RCM, [1057, 1058], Certificate, fail, "failed to create or replace the self-signed RDP certificate", ["Param1", "Data1"]),
    e!(RCM, [1060, 1061, 1062, 1063, 1064, 1065, 1066], Certificate, -, "template-based RDP certificate problem (invalid, not installed, expired and not replaced)", []),
    e!(RCM, [1067], Certificate, fail, "cannot register the TERMSRV service principal name", []),
    e!(RCM, [1068, 1069], Licensing, fail, "RD licensing mode not configured or grace period expired", []),
    e!(RCM, [1070], ServerDenied, fail, "logon denied: the server is in drain mode", []),
    e!(RCM, [1071], ServerDenied, fail, "connection denied: the server does not accept new connections", []),
    e!(RCM, [1149], AuthSuccess, ok, "user authentication succeeded (with NLA: credentials accepted)", ["Param1", "Param2", "Param3"]),
    e!(RCM, [1158], Connection, -, "connection accepted from a client address", ["Param1"]),
    e!(RCM, [20499], Session, -, "Remote Desktop Services took too long to load the user configuration", ["ServerName", "UserName"]),
    e!(RCM, [20520, 20521], Session, -, "user configuration of the connection is loaded (20520 from a domain controller, 20521 from the local machine)", ["Param1"]),
    e!(RCM, [20523], Session, -, "the connection from a listener was given its terminal class", ["Param1", "Param2"]),
    // RdpCoreTS
    e!(CORE, [65], Connection, -, "RDP connection created", ["ConnectionName"]),
    e!(CORE, [66], Connection, -, "RDP connection assigned to a session", ["ConnectionName", "SessionID"]),
    e!(CORE, [97], ProtocolError, fail, "an RDP component found a protocol error; the client was disconnected", ["ComponentName", "ErrorCode"]),
    e!(CORE, [98], Connection, ok, "a TCP connection was established", []),
    e!(CORE, [99], NetworkError, fail, "a TCP connection failed", ["ResultCode"]),
    e!(CORE, [102], Connection, -, "the server ended the main RDP connection", []),
    e!(CORE, [103], Connection, -, "RDP disconnect reason", ["ReasonCode"]),
    e!(CORE, [104], Connection, -, "the client's time zone offset from UTC, in hours", ["TimezoneBiasHour"]),
    e!(CORE, [130], Multitransport, -, "multitransport (RDP-UDP) request sent", ["TunnelID"]),
    e!(CORE, [135], Multitransport, ok, "multitransport (RDP-UDP) set up", ["TunnelID", "TransportType"]),
    e!(CORE, [131], Connection, -, "the server accepted a new TCP or UDP connection from a client", ["ConnType", "ClientIP"]),
    e!(CORE, [136], Multitransport, fail, "multitransport could not be established: the connection stays on TCP", []),
    e!(CORE, [139], ProtocolError, fail, "security-layer error in the stream; the client was disconnected", ["ResultCode", "IPString"]),
    e!(CORE, [140], AuthFailure, fail, "a connection failed because the user name or password is wrong", ["IPString"]),
    e!(CORE, [142], NetworkError, fail, "TCP socket read failed", ["error", "Error", "ErrorCode"]),
    e!(CORE, [143], NetworkError, fail, "TCP socket write failed", ["error", "Error", "ErrorCode"]),
    e!(CORE, [148], Multitransport, -, "a channel was closed on a tunnel", ["ChannelName", "TunnelID"]),
    e!(CORE, [226], NetworkError, fail, "RDP state-machine transition failed", ["StateTransition", "PreviousStateName", "EventName", "ErrorCode"]),
    e!(CORE, [227, 228], NetworkError, fail, "RDP stack error / disconnect trace", ["ComponentName", "Message", "ErrorCode", "CustomLevel"]),
    // LocalSessionManager (Operational; UserData/EventXML)
    e!(LSM, [16], Service, fail, "the Local Session Manager failed to start", ["Param1"]),
    e!(LSM, [17], Service, fail, "Remote Desktop Services failed to start", ["Param1"]),
    e!(LSM, [18], Service, fail, "Remote Desktop Services shut down unexpectedly", []),
    e!(LSM, [21], Session, ok, "session logon succeeded", ["User", "SessionID", "Address"]),
    e!(LSM, [22], Session, ok, "shell start notification", ["User", "SessionID", "Address"]),
    e!(LSM, [23], Session, -, "session logoff succeeded", ["User", "SessionID"]),
    e!(LSM, [24], Session, -, "session disconnected", ["User", "SessionID", "Address"]),
    e!(LSM, [25], Session, ok, "session reconnection succeeded", ["User", "SessionID", "Address"]),
    e!(LSM, [36, 37], Session, fail, "session state transition failed", ["SessionId", "StateName", "EventName", "ErrorCode"]),
    e!(LSM, [39], Session, -, "session disconnected by another session", ["TargetSession", "Source"]),
    e!(LSM, [40], Session, -, "session disconnected with a reason code", ["Session", "Reason"]),
    // Security
    e!(SECURITY, [4624], AuthSuccess, ok, "an account logged on", ["TargetUserName", "TargetDomainName", "LogonType", "IpAddress", "IpPort"]),
    e!(SECURITY, [4625], AuthFailure, fail, "an account failed to log on", ["TargetUserName", "TargetDomainName", "LogonType", "Status", "SubStatus", "IpAddress", "IpPort"]),
    e!(SECURITY, [4634], Session, -, "a Remote Desktop logon session ended (logoff)", ["TargetUserName", "TargetDomainName", "LogonType"]),
    e!(SECURITY, [4647], Session, -, "the user started a logoff", ["TargetUserName", "TargetDomainName"]),
    e!(SECURITY, [4740], AuthFailure, fail, "a user account was locked out", ["TargetUserName", "TargetDomainName"]),
    e!(SECURITY, [4776], AuthFailure, -, "the computer validated NTLM credentials for an account", ["TargetUserName", "Workstation", "Status"]),
    e!(SECURITY, [4778], Session, -, "a session was reconnected to a window station", ["AccountName", "AccountDomain", "SessionName", "ClientName", "ClientAddress"]),
    e!(SECURITY, [4779], Session, -, "a session was disconnected from a window station", ["AccountName", "AccountDomain", "SessionName", "ClientName", "ClientAddress"]),
    e!(SECURITY, [4825], ServerDenied, fail, "a user was denied access to Remote Desktop (not allowed to log on remotely)", ["AccountName", "AccountDomain", "ClientAddress"]),
    e!(SECURITY, [5152], Firewall, fail, "the Windows Filtering Platform blocked a packet", ["Direction", "SourceAddress", "SourcePort", "DestAddress", "DestPort", "Protocol", "LayerName"]),
    e!(SECURITY, [5157], Firewall, fail, "the Windows Filtering Platform blocked a connection", ["Direction", "SourceAddress", "SourcePort", "DestAddress", "DestPort", "Protocol", "LayerName"]),
    e!(SECURITY, [5156], Firewall, ok, "the Windows Filtering Platform allowed a connection", ["Direction", "SourceAddress", "SourcePort", "DestAddress", "DestPort", "Protocol", "LayerName"]),
    // RD Gateway (Microsoft-Windows-TerminalServices-Gateway/Operational; UserData/EventInfo)
    e!(GATEWAY, [200], Gateway, ok, "RD Gateway: the user met a connection authorization policy (RD CAP)", ["Username", "IpAddress", "AuthType", "ConnectionProtocol", "ErrorCode"]),
    e!(GATEWAY, [201], Gateway, fail, "RD Gateway: the user did not meet any connection authorization policy (RD CAP)", ["Username", "IpAddress", "AuthType", "ConnectionProtocol", "ErrorCode"]),
    e!(GATEWAY, [202], Gateway, -, "RD Gateway: an administrator disconnected the user from the resource", ["Username", "IpAddress", "Resource", "ErrorCode"]),
    e!(GATEWAY, [203], Gateway, fail, "RD Gateway: connection refused, the maximum number of connections is reached", ["Username", "IpAddress", "AuthType", "ErrorCode"]),
    e!(GATEWAY, [300], Gateway, ok, "RD Gateway: the user met a resource authorization policy (RD RAP) for the resource", ["Username", "IpAddress", "Resource", "ErrorCode"]),
    e!(GATEWAY, [301], Gateway, fail, "RD Gateway: the user did not meet any resource authorization policy (RD RAP) for the resource", ["Username", "IpAddress", "Resource", "ErrorCode"]),
    e!(GATEWAY, [302], Gateway, ok, "RD Gateway: the user connected to the resource", ["Username", "IpAddress", "Resource", "ConnectionProtocol", "ErrorCode"]),
    e!(GATEWAY, [303], Gateway, -, "RD Gateway: the user disconnected from the resource", ["Username", "IpAddress", "Resource", "BytesReceived", "BytesTransfered", "SessionDuration", "ErrorCode"]),
    e!(GATEWAY, [304], Gateway, fail, "RD Gateway: policies met, but the gateway could not connect to the resource", ["Username", "IpAddress", "Resource", "ErrorCode"]),
    e!(GATEWAY, [305], Gateway, fail, "RD Gateway: the authentication method the client tried is not supported", ["Username", "IpAddress", "AuthType", "ErrorCode"]),
    e!(GATEWAY, [306], Gateway, fail, "RD Gateway: the user was refused because a tunnel could not be created", ["Username", "IpAddress", "AuthType", "ErrorCode"]),
    e!(GATEWAY, [307], Gateway, -, "RD Gateway: the session exceeded its time limit and was disconnected", ["Username", "IpAddress", "Resource", "ErrorCode"]),
    e!(GATEWAY, [309], Gateway, fail, "RD Gateway: the user was disconnected after a failed reauthentication or reauthorization", ["Username", "IpAddress", "Resource", "ErrorCode"]),
    e!(GATEWAY, [312, 313], Gateway, -, "RD Gateway: the client opened an outbound (312) / inbound (313) channel, not yet authenticated", ["Username", "IpAddress"]),
    // The RDP client (RDPClient/Operational)
    e!(CLIENT, [1024], Client, -, "client is connecting to a server", ["Name", "Value"]),
    e!(CLIENT, [1025], Client, ok, "client connected to the server", []),
    e!(CLIENT, [1026], Client, -, "client disconnected (reason code in decimal)", ["Name", "Value"]),
    e!(CLIENT, [1027], Client, ok, "client connected to a domain and session (logon done)", ["DomainName", "SessionId"]),
    e!(CLIENT, [1028], Client, -, "server supports SSL", ["Name", "Value"]),
    e!(CLIENT, [1029], Client, -, "hash of the user name the client sent", ["TraceMessage"]),
    e!(CLIENT, [1102], Client, -, "client started a multitransport (RDP-UDP) connection", ["Name", "Value"]),
    e!(CLIENT, [1103], Client, ok, "client multitransport (RDP-UDP) connection established", ["Name", "Value"]),
    e!(CLIENT, [1104], Client, fail, "client multitransport (RDP-UDP) connection failed", ["Name", "Value"]),
    e!(CLIENT, [1105], Client, -, "client multitransport (RDP-UDP) connection disconnected", ["Name", "Value"]),
    // The client's 226 names its code "Error Code" (with a space; corpus RDPClient record 7).
    e!(CLIENT, [226], Client, fail, "client state-machine transition failed", ["StateTransitionName", "EventName", "ErrorCode", "Error Code"]),
    // CredSSP on the client
    e!(LSASRV, [6041], AuthFailure, fail, "CredSSP: the client could not delegate credentials (NLA failure on the client side)", []),
    // Host start and stop markers (System): a server that restarts drops every connection.
    e!(USER32, [1074], Shutdown, -, "a process or user asked for a shutdown or restart", ["param1", "param3", "param4", "param5", "param7"]),
    e!(EVENTLOG, [6005], Shutdown, -, "the event log service started (the host booted)", []),
    e!(EVENTLOG, [6006], Shutdown, -, "the event log service stopped (clean shutdown)", []),
    e!(EVENTLOG, [6008], Shutdown, fail, "the previous system shutdown was unexpected", ["Data1", "Data2"]),
    e!(KERNEL_GENERAL, [12], Shutdown, -, "the operating system started", ["StartTime"]),
    e!(KERNEL_GENERAL, [13], Shutdown, -, "the operating system is shutting down", ["StopTime"]),
];
