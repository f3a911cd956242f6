-- Prosody for `chat-engine dev` and the test suite: one loopback-only server per base
-- directory, started in the foreground as a child process (`prosody --config FILE -F`).
--
-- chat_engine/prosody_config.py fills the $$name placeholders (string.Template; each value is
-- a quoted Lua literal) and writes the result under the base directory. The copy is rewritten
-- on every start, so change this template, not the copy.

-- Set only when the engine runs as root: Prosody refuses to start as root without it, and
-- prosodyctl would otherwise drop to the `prosody` user, which cannot write our data
-- directory (owned by whoever ran `make run`).
$run_as_root

-- Everything this server writes stays under the base directory.
data_path = $data_path
pidfile = $pidfile
certificates = $certificates_dir
log = {
	{ levels = { min = $log_level }, to = "file", filename = $log_file };
}

-- Loopback only, and no server-to-server: nothing here should be reachable from outside,
-- and several instances (a developer's `make run` next to the tests) must not fight over
-- 5269.
interfaces = { $host }
local_interfaces = { $host }
c2s_interfaces = { $host }
c2s_ports = { $c2s_port }
component_interfaces = { $host }
component_ports = { $component_port }
modules_disabled = { "s2s"; "s2s_auth_certs" }

-- Nagle's algorithm held small stanzas back for up to 40 ms: relay p99 went from about
-- 44 ms to about 8 ms without it.
network_settings = { nagle = false }

$websocket

-- The default archive store rewrites a user's whole archive on every message, which
-- slowed relaying to about 130 msg/s after a few thousand messages. Development and tests
-- do not need archives to survive a restart; accounts and rosters stay on disk.
default_storage = "internal"
storage = { archive = "memory" }
archive_expires_after = "1d"

-- Clients such as Conversations and Gajim refuse to log in without STARTTLS; the
-- certificate is self-signed for localhost and *.localhost.
c2s_require_encryption = true
allow_unencrypted_plain_auth = false
authentication = "internal_hashed"
allow_registration = false
ssl = {
	certificate = $certificate;
	key = $key;
}

modules_enabled = {
	"roster";
	"saslauth";
	"tls";
	"disco";
	"carbons";
	"ping";
	"offline";
	"mam";
	"smacks";
	"csi_simple";
	"private";
	"blocklist";
	"vcard_legacy";
	"pep";
	"time";
	"version";
	"uptime";
	"posix";
	$websocket_module
}

VirtualHost $domain

-- The engine: an external component (XEP-0114).
Component $component_jid
	component_secret = $component_secret

$file_share
