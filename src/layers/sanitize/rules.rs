//! The built-in detectors as data: name, kind, description, pattern, example, and the
//! check that confirms a match.
//!
//! Every pattern is bounded: it cannot match more than [`MAX_MATCH_BYTES`]. That bound is
//! what keeps a scan linear (see [`super::detect`]); a test asserts it for every rule, and
//! workspace patterns are held to it when they are loaded.

use std::borrow::Cow;

use super::kind::Kind;
use super::starts::ByteSet;
use super::vendors::{VENDORS, Vendor, VendorCheck};

/// The longest text any one pattern may match. Checks may extend a finding past its
/// pattern's match (a PEM block to its END line, a value to the end of its line), each
/// within its own bound.
pub(crate) const MAX_MATCH_BYTES: usize = 4096;

/// What confirms a match and decides what of it is masked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Check {
    /// All of it, no check (workspace patterns).
    Whole,
    /// A vendor format, by its row in the vendor table.
    Vendor(usize),
    /// An e-mail address, matched from its `@`: the local part is found before it.
    Email,
    /// A UPI id, matched from its `@` and handle: the name is found before it.
    Upi,
    /// An e-mail address written out (`john at example dot com`), matched from the `at`.
    WrittenEmail,
    /// A PEM or PGP private key block, extended to its END line.
    Pem,
    /// A JWT: header and payload decode to JSON objects.
    Jwt,
    /// An IBAN (mod-97).
    Iban,
    /// An IPv6 address (parsed, v4-mapped tails included).
    Ipv6,
    /// A MAC address with one separator throughout.
    Mac,
    /// A run of digit groups: cards, SSNs, phones, IPv4 and Aadhaar numbers inside it.
    Numbers,
    /// A Bitcoin base58check address.
    Base58,
    /// A bech32 / bech32m address.
    Bech32,
    /// An Ethereum address: EIP-55 checksum, or all one case next to a wallet word.
    Ethereum,
    /// The password of `scheme://user:password@host`.
    UrlPassword,
    /// The password of a Go DSN, `user:password@tcp(…)`, matched from its `@`.
    DsnPassword,
    /// The value after the first `:` or `=` of the match.
    AfterSeparator,
    /// The match's last word (after its last whitespace).
    LastWord,
    /// The match after its last occurrence of this byte (a `.pgpass` line's password
    /// after its fourth `:`, `sqlplus user/password`).
    After(u8),
    /// The value glued to a flag, as a word of the command the match starts, looked for
    /// in the next [`FLAG_REACH`](super::shapes::FLAG_REACH) bytes of its line and up to
    /// the next such command: of the first `(command, flag, apart)` whose command begins
    /// the match (`mysql -u app -pPASSWORD`); when `apart`, also the word after the flag
    /// (`sshpass -p PASSWORD`).
    FlagValue(&'static [(&'static str, &'static str, bool)]),
    /// The string literal passed as this argument (1-based) of the call whose `(` ends
    /// the match (`DriverManager.getConnection(url, "app", "…")`).
    Argument(u8),
    /// A password a shell pipes into a command that reads it from its input, matched from
    /// the writer: the value `echo` or `printf` writes (see
    /// [`echoed`](super::stdin::echoed)).
    Piped,
    /// A password hash, from the head the match is: read to its end by
    /// [`password_hash`](super::hashes::password_hash).
    PasswordHash,
    /// A keyword context: the value is found after the match.
    Assign(Assign),
    /// A national identifier of an opt-in locale, by its check.
    NationalId(super::locales::IdCheck),
}

/// The keyword contexts whose value follows the match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Assign {
    /// `name = value`, `name: value`, `"name": "value"`, `name => value`: the name decides.
    Named,
    /// `Authorization: <scheme> <credentials>` or an opaque value.
    Authorization,
    /// `Bearer <token>` anywhere.
    Bearer,
    /// `Cookie:` and `Set-Cookie:` header values.
    Cookie,
    /// `curl -u user:password`.
    UserPassword,
    /// `name: DB_PASSWORD` followed by `value: …` (Kubernetes env, JSON name/value pairs).
    NameValue,
}

/// One built-in detector.
pub(super) struct Rule {
    pub name: Cow<'static, str>,
    pub kind: Kind,
    pub description: Cow<'static, str>,
    pub pattern: Cow<'static, str>,
    pub example: Cow<'static, str>,
    pub check: Check,
    pub secret: bool,
    pub locale: Option<&'static str>,
}

/// Public description of a detector, for `airlock sanitize --list-detectors`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DetectorInfo {
    /// The detector's name (`github_pat_classic`, `credit_card`).
    pub name: String,
    /// The kind its findings have (`api_key`).
    pub kind: String,
    /// What it finds.
    pub description: String,
    /// A text it masks.
    pub example: String,
    /// The locale that enables it, if it is opt-in.
    pub locale: Option<String>,
}

fn rule(
    name: &'static str,
    kind: Kind,
    description: &'static str,
    pattern: &'static str,
    example: &'static str,
    check: Check,
) -> Rule {
    Rule {
        name: Cow::Borrowed(name),
        secret: !kind.is_pii(),
        kind,
        description: Cow::Borrowed(description),
        pattern: Cow::Borrowed(pattern),
        example: Cow::Borrowed(example),
        check,
        locale: None,
    }
}

fn india(rule: Rule) -> Rule {
    Rule {
        locale: Some("in"),
        ..rule
    }
}

/// Common top-level domains accepted at the end of an obfuscated address.
const OBFUSCATED_TLDS: &str = "com|org|net|edu|gov|mil|int|io|co|ai|dev|app|info|biz|me|us|uk|de|fr|es|it|nl|se|no|fi|dk|pl|ch|at|be|ie|pt|in|jp|cn|kr|au|nz|ca|br|mx|ru|za|sg|hk";

fn obfuscated_email_pattern() -> String {
    // No blanks before the `at`: the match starts at it, a literal the scan finds first,
    // and the check steps back over them (see `Check::WrittenEmail`).
    let at = r"(?:\[at\]|\(at\)|\{at\}|<at>|\sat\s)\s{0,3}";
    let dot = r"\s{0,3}(?:\[dot\]|\(dot\)|\{dot\}|<dot>|\sdot\s)\s{0,3}";
    format!(
        r"(?i){at}[a-z0-9-]{{1,63}}(?:{dot}[a-z0-9-]{{1,63}}){{0,3}}{dot}(?:{OBFUSCATED_TLDS})(?-u:\b)"
    )
}

/// The words a secret name holds somewhere (`DB_PASSWORD`, `stripeApiKey`, `x-auth-token`,
/// `GITHUB_PAT`). The pattern finds only the word: the name around it, the separator
/// after it and the value are read by the check, and
/// [`super::context::name_strength`] judges the whole name. A short pattern keeps the
/// automaton small (a long list of names and qualifiers multiplied its states).
const ASSIGN_WORDS: &str = "(?i)(?:pass|pwd|secret|token|cred|auth|jwt|key|sig|pat)";

/// The words of [`ASSIGN_WORDS`], for code that looks for them without the automaton (a
/// test holds the two together).
pub(super) const SECRET_WORDS: &[&str] = &[
    "pass", "pwd", "secret", "token", "cred", "auth", "jwt", "key", "sig", "pat",
];

/// The clients that take a password after a flag of their own, each from its manual:
/// sshpass(1), redis-cli, the OpenLDAP clients, `docker login` and its kin, `az login`,
/// the MongoDB shell and tools, sqlcmd and bcp, zip(1) and unzip(1), 7-Zip (its `-p`
/// glued to the password).
const CLIENT_FLAGS: &[(&str, &str, bool)] = &[
    ("sshpass", "-p", true),
    ("redis-cli", "-a", true),
    ("ldap", "-w", true),
    ("docker", "-p", true),
    ("podman", "-p", true),
    ("buildah", "-p", true),
    ("skopeo", "-p", true),
    ("nerdctl", "-p", true),
    ("oras", "-p", true),
    ("helm", "-p", true),
    ("az", "-p", true),
    ("mongo", "-p", true),
    ("sqlcmd", "-P", true),
    ("bcp", "-P", true),
    ("unzip", "-P", true),
    ("zip", "-P", true),
    ("7z", "-p", false),
];

/// The built-in rules, in priority order: when several match at one position the first
/// listed is tried first.
pub(super) fn builtin_rules() -> Vec<Rule> {
    use Check as C;
    use Kind as K;
    let mut rules = vec![
        rule(
            "private_key",
            K::PrivateKey,
            "PEM, OpenSSH and PGP private key blocks, masked to their END line (or to the end of a cut-off block)",
            r"-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP |SSH2 ENCRYPTED |ANY )?PRIVATE KEY(?: BLOCK)?-----",
            "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n-----END OPENSSH PRIVATE KEY-----",
            C::Pem,
        ),
        rule(
            "jwt",
            K::Jwt,
            "JSON Web Tokens whose header and payload decode to JSON objects",
            r"(?-u:\b)eyJ[A-Za-z0-9_-]{4}",
            "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
            C::Jwt,
        ),
    ];
    for (i, vendor) in VENDORS.iter().enumerate() {
        rules.push(vendor_rule(i, vendor));
    }
    rules.extend([
        rule(
            "credential_url",
            K::ConnectionString,
            "the password of a URL or connection string (`postgres://user:password@host`)",
            "://",
            "postgres://app:Pa55w0rd@db.internal:5432/prod",
            C::UrlPassword,
        ),
        rule(
            "dsn_password",
            K::ConnectionString,
            "the password of a Go database DSN (`user:password@tcp(host:3306)/db`)",
            r"@(?:tcp|udp|unix)6?\(",
            "app:Pa55w0rd@tcp(db.internal:3306)/prod",
            C::DsnPassword,
        ),
        rule(
            "authorization",
            K::AuthHeader,
            "`Authorization` and `Proxy-Authorization` credentials: after the scheme (`Bearer`, `Basic`, `Digest`, …) or the whole opaque value",
            r#"(?i)(?-u:\b)(?:proxy-)?authorization["']?\s{0,3}[:=]"#,
            "Authorization: Basic YWxhZGRpbjpvcGVuc2VzYW1l",
            C::Assign(Assign::Authorization),
        ),
        rule(
            "bearer",
            K::AuthHeader,
            "a bearer token anywhere (`Bearer <token>`)",
            r"(?i)(?-u:\b)bearer[ \t]{1,3}[A-Za-z0-9._~+/-]{16}",
            "curl -H 'X-Forwarded: Bearer 8f14e45fceea167a5a36dedd4bea2543'",
            C::Assign(Assign::Bearer),
        ),
        rule(
            "cookie",
            K::AuthHeader,
            "`Cookie` header values, and the value of a `Set-Cookie` header",
            r#"(?i)(?-u:\b)(?:set-)?cookie["']?\s{0,3}:"#,
            "Cookie: session=4f9a2c7e1b8d; csrftoken=Zq81ksjA",
            C::Assign(Assign::Cookie),
        ),
        rule(
            "cli_user_password",
            K::Password,
            "the password of `curl -u user:password` and `--user user:password`",
            r"(?:-u|--user|--proxy-user)(?:\s{1,3}|=)",
            "curl -u deploy:s3cr3t-Passw0rd https://api.example.com",
            C::Assign(Assign::UserPassword),
        ),
        rule(
            "name_value_pair",
            K::Password,
            "the value of a name/value or key/value pair whose name is a secret (Kubernetes `env`, JSON lists, .NET `appSettings` and NuGet `<add key=\"…\" value=\"…\" />`)",
            r#"(?i)(?-u:\b)(?:name|key)["']?\s{0,3}[:=]"#,
            "- name: DB_PASSWORD\n  value: hunter2-prod",
            C::Assign(Assign::NameValue),
        ),
        rule(
            "netrc_password",
            K::Password,
            "the password of a `.netrc` entry (`machine … login … password …`)",
            r"(?i)(?-u:\b)machine[ \t]{1,3}[^\s]{1,253}[ \t\r\n]{1,8}login[ \t]{1,3}[^\s]{1,128}[ \t\r\n]{1,8}password[ \t]{1,3}[^\s]{1,256}",
            "machine api.example.com login deploy password s3cr3t-netrc",
            C::LastWord,
        ),
        rule(
            "pgpass_password",
            K::Password,
            "the password of a PostgreSQL password file line (`host:port:database:user:password`)",
            r"(?m:^)(?:[A-Za-z*][A-Za-z0-9.*_-]{0,127}|[0-9]{1,3}(?:\.[0-9]{1,3}){3}):(?:[0-9]{1,5}|\*):[A-Za-z0-9_.*$-]{1,63}:[A-Za-z0-9_.*@$-]{1,63}:(?:[^\s:\\]|\\[:\\]){1,256}(?m:$)",
            "db.internal:5432:shop:app:Zx9vQ2mLk7Tr",
            C::After(b':'),
        ),
        rule(
            "password_hash",
            K::Password,
            "password hashes, which a dictionary attack turns back into passwords: crypt(5)'s formats (`$1$`, `$apr1$`, bcrypt's `$2b$`, `$5$`, `$6$`, yescrypt's `$y$`), PHC strings (`$argon2id$`, `$scrypt$`, `$pbkdf2-sha256$`), Django's `pbkdf2_sha256$…`, LDAP's `{SSHA}…`, PostgreSQL's `SCRAM-SHA-256$…` and `md5…`",
            // The heads only: the fields are read by `hashes.rs` (counted repetitions of
            // their lengths made this rule a twentieth of the build).
            concat!(
                r"\$(?:[1256y]|2[abxy]|apr1|md5|argon2(?:id|i|d)|scrypt|pbkdf2(?:-sha[0-9]{1,3})?)\$",
                r"|(?-u:\b)pbkdf2_sha(?:1|256)\$",
                r"|\{S?(?:SHA|MD5)[0-9]{0,3}\}",
                r"|SCRAM-SHA-256\$",
                r"|(?-u:\b)md5[0-9a-f]{32}(?-u:\b)",
            ),
            "root:$6$rbS3kQ9m$EqV8ib8HDy88YtDtXbiufMdI8X2Y4rUmer/BH3M1XS0DRdJuPnBIKpi99lSi0tcL21pffWQJEeNajnez0LHtfR:19700:0:99999:7:::",
            C::PasswordHash,
        ),
        rule(
            "piped_password",
            K::Password,
            "a password `echo` or `printf` pipes into a command that reads it from its input: `docker login --password-stdin` (podman, buildah, skopeo, nerdctl, oras, helm, crane; regctl's `--pass-stdin`), `sudo -S`, `passwd --stdin`, `chpasswd`",
            r"(?-u:\b)(?:echo|printf)[ \t]",
            "echo \"Zx9vQ2mLk7Tr\" | docker login -u deploy --password-stdin registry.example.com",
            C::Piped,
        ),
        rule(
            "mysql_cli_password",
            K::Password,
            "the password the MySQL clients take glued to `-p` (`mysql -u app -pPASSWORD`)",
            r"(?-u:\b)mysql(?:dump|admin|import|show|check|slap|binlog|pump|sh)?[ \t]",
            "mysql -h db.internal -u app -pZx9vQ2mLk7Tr shop",
            C::FlagValue(&[("mysql", "-p", false)]),
        ),
        rule(
            "client_password_flag",
            K::Password,
            "the password clients take after a flag of their own: `sshpass -p`, `redis-cli -a`, the OpenLDAP clients' `-w`, `docker login -p` (podman, buildah, skopeo, nerdctl, oras, helm registry), `az login -p`, the MongoDB shell and tools' `-p`, `sqlcmd -P`, `bcp -P`, `zip`/`unzip -P`, 7-Zip's `-p…`",
            r"(?-u:\b)(?:sshpass|redis-cli|ldap(?:search|modify|add|delete|whoami|passwd|compare|modrdn|exop|url)|(?:docker|podman|buildah|skopeo|nerdctl|oras|helm[ \t]{1,3}registry|az)[ \t]{1,3}login|mongo(?:sh|dump|restore|export|import|stat|top|files)?|sqlcmd|bcp|(?:un)?zip|7z[ar]?)[ \t]",
            "redis-cli -h cache.internal -a Zx9vQ2mLk7Tr ping",
            C::FlagValue(CLIENT_FLAGS),
        ),
        rule(
            "redis_conf_password",
            K::Password,
            "the passwords of redis.conf's `requirepass` and `masterauth` directives (the line's last word)",
            r"(?-u:\b)(?:requirepass|masterauth)[ \t]{1,8}[^\s]{1,512}[ \t]{0,8}(?m:$)",
            "requirepass Zx9vQ2mLk7Tr",
            C::LastWord,
        ),
        rule(
            "openssl_pass_argument",
            K::Password,
            "the password of OpenSSL's `-passin pass:…`, `-passout pass:…`, `-pass pass:…`",
            r"(?-u:\B)-pass(?:in|out)?[ \t]{1,3}pass:[^\s]{1,256}",
            "openssl pkcs12 -export -in cert.pem -passout pass:Zx9vQ2mLk7Tr -out cert.p12",
            C::After(b':'),
        ),
        rule(
            "oracle_cli_password",
            K::Password,
            "the password of an Oracle client's `user/password@service` logon (`sqlplus`, `sqlldr`, `expdp`, `impdp`, `rman`, `dgmgrl`)",
            r#"(?-u:\b)(?:sqlplus|sqlldr|expdp|impdp|rman|dgmgrl)(?:[ \t]{1,3}-[A-Za-z]{1,12}){0,4}[ \t]{1,3}(?:userid=|target=)?["']?[A-Za-z0-9_$#.]{1,128}/[^\s@/"']{1,128}"#,
            "sqlplus app/Zx9vQ2mLk7Tr@//db.internal:1521/ORCLPDB1",
            C::After(b'/'),
        ),
        rule(
            "password_argument",
            K::Password,
            "the password passed by position to an API that takes a user, then a password: `login(user, \"…\")` (Python's ftplib, smtplib, imaplib, docker), `simple_bind_s(dn, \"…\")` (python-ldap), `cx_Oracle.connect(user, \"…\", dsn)`, `NetworkCredential(user, \"…\")` (.NET)",
            r"(?-u:\b)(?:login|simple_bind_s|simple_bind|bind_s|NetworkCredential|(?:cx_Oracle|oracledb)\.connect)[ \t]{0,2}\(",
            "smtp.login(\"alerts@example.com\", \"Zq8xW2vN5rT1\")",
            C::Argument(2),
        ),
        rule(
            "connect_password_argument",
            K::Password,
            "the password passed by position to a database or file client after a host or URL and a user: `DriverManager.getConnection(url, user, \"…\")` (Java), `new mysqli`, `mysqli_connect`, `new PDO`, `ftp_login`, `ldap_bind` (PHP), `pymysql.connect`, `MySQLdb.connect` (Python), `Net::FTP.new` (Ruby)",
            r"(?-u:\b)(?:getConnection|mysqli_connect|mysqli_real_connect|mysql_connect|mysql_pconnect|ftp_login|ldap_bind|new[ \t]{1,3}(?:mysqli|PDO)|pymysql\.connect|MySQLdb\.connect|Net::FTP\.(?:new|open))[ \t]{0,2}\(",
            "DriverManager.getConnection(\"jdbc:postgresql://db.internal/shop\", \"app\", \"Zq8xW2vN5rT1\")",
            C::Argument(3),
        ),
        rule(
            "aws_secret_key",
            K::AwsSecretKey,
            "an AWS secret access key after its key name (`aws_secret_access_key = …`, `aws configure set aws_secret_access_key …`), or further along the line of its access key id",
            r#"(?i)(?-u:\b)(?:aws_?)?secret[_ ]?access[_ ]?key(?:["']?\s{0,3}(?:[:=]|=>)\s{0,3}["']?|[ \t]{1,3})[A-Za-z0-9/+]{40}(?-u:\b)"#,
            "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYzQ8vT3kLmN",
            C::AfterSeparator,
        ),
        rule(
            "assignment",
            K::Password,
            "the value of an assignment to a secret name (`DB_PASSWORD=…`, `api_key: …`, `--db-password …`, `--token=…`, `\"token\": \"…\"`, `secret => …`, `env[\"TOKEN\"] = …`) in env, YAML, JSON, TOML, INI, headers and code, and a setter's string argument (`setPassword(\"…\")`): to the end of the quoted string or the line; a name that may hold a secret (`STRIPE_KEY`, `sig`) only when the value looks random; placeholders and references left alone",
            ASSIGN_WORDS,
            "DB_PASSWORD=correct horse; battery&staple",
            C::Assign(Assign::Named),
        ),
        // Personal data.
        rule(
            "email",
            K::Email,
            "e-mail addresses, internationalized ones included (also written with `\\u0040` or `%40`)",
            r"@[A-Za-z0-9\x80-\xFF](?:[A-Za-z0-9\x80-\xFF-]{0,62}[A-Za-z0-9\x80-\xFF])?(?:\.[A-Za-z0-9\x80-\xFF](?:[A-Za-z0-9\x80-\xFF-]{0,62}[A-Za-z0-9\x80-\xFF])?){0,8}\.(?:[A-Za-z]{2,24}|xn--[a-z0-9-]{1,59}|[\x80-\xFF]{2,48})",
            "write to alice.smith+tag@mail.example.co.uk",
            C::Email,
        ),
        Rule {
            name: Cow::Borrowed("obfuscated_email"),
            kind: K::Email,
            description: Cow::Borrowed("e-mail addresses written out (`john at example dot com`)"),
            pattern: Cow::Owned(obfuscated_email_pattern()),
            example: Cow::Borrowed("john at example dot com"),
            check: C::WrittenEmail,
            secret: false,
            locale: None,
        },
        india(rule(
            "upi",
            K::Upi,
            "UPI payment ids",
            r"@(?:okaxis|okhdfcbank|okicici|oksbi|ybl|ibl|axl|upi|paytm|apl|ptyes|ptsbi|pthdfc|ptaxis|freecharge|airtel|jupiteraxis|axisbank|icici|sbi|hdfcbank|kotak|barodampay|aubank|idfcbank|indus|rbl|yesbank|fbl|federal|pnb|unionbank|cnrb|boi|mahb|kbl|dlb|abfspay|waaxis|wahdfcbank|waicici|wasbi|ikwik|axisb|yapl|idbi|citi|hsbc|scb|dbs)(?-u:\b)",
            "ramesh.kumar@okaxis",
            C::Upi,
        )),
        rule(
            "iban",
            K::Iban,
            "IBANs (mod-97 checked); an invalid one is left whole, digits included",
            r"(?-u:\b)[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?(?-u:\b)",
            "GB82 WEST 1234 5698 7654 32",
            C::Iban,
        ),
        rule(
            "mac_address",
            K::MacAddress,
            "MAC addresses (`00:1A:2B:3C:4D:5E`, `00-1a-…`, `001a.2b3c.4d5e`)",
            r"(?-u:\b)(?:[0-9A-Fa-f]{2}(?:[:-][0-9A-Fa-f]{2}){5}|[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4})(?-u:\b)",
            "eth0 link/ether 3c:52:82:1f:9a:0e",
            C::Mac,
        ),
        rule(
            "ipv6",
            K::IpAddress,
            "IPv6 addresses that parse (v4-mapped included; `::1` and `std::a::b` left alone)",
            r"(?:(?-u:\b)[0-9A-Fa-f]{1,4}|(?-u:\B):)(?::[0-9A-Fa-f]{0,4}){1,7}(?:\.[0-9]{1,3}){0,3}",
            "host 2001:db8:85a3::8a2e:370:7334 up",
            C::Ipv6,
        ),
        rule(
            "bitcoin_address",
            K::CryptoWallet,
            "Bitcoin addresses (base58check checksum)",
            r"(?-u:\b)[13][1-9A-HJ-NP-Za-km-z]{25,34}(?-u:\b)",
            "send to 1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2",
            C::Base58,
        ),
        rule(
            "bech32_address",
            K::CryptoWallet,
            "SegWit and Taproot addresses (bech32 / bech32m checksum)",
            r"(?-u:\b)(?:(?:bc|tb|ltc)1[02-9ac-hj-np-z]{8,87}|(?:BC|TB|LTC)1[02-9AC-HJ-NP-Z]{8,87})(?-u:\b)",
            "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq",
            C::Bech32,
        ),
        rule(
            "ethereum_address",
            K::CryptoWallet,
            "Ethereum addresses (EIP-55 checksum, or all one case next to a wallet word)",
            r"(?-u:\b)0x[0-9a-fA-F]{40}(?-u:\b)",
            "wallet 0x52908400098527886E0F7030069857D2E4169EE7",
            C::Ethereum,
        ),
    ]);
    // The rows on by default (the United States') and the documents' are found after
    // names, some holding a secret word (`passport`, `patente`): they come before the
    // assignment rule, which would claim the name and turn the number down.
    let mut before = rules
        .iter()
        .position(|r| r.name == "assignment")
        .unwrap_or(rules.len());
    for row in super::locales::ids() {
        let always = row.locale == super::locales::ALWAYS;
        let rule = Rule {
            name: Cow::Borrowed(row.name),
            kind: row.check.kind(),
            description: Cow::Borrowed(row.description),
            pattern: Cow::Borrowed(row.pattern),
            example: Cow::Borrowed(row.example),
            check: C::NationalId(row.check),
            secret: false,
            locale: (!always).then_some(row.locale),
        };
        if row.check.before_assignment() {
            rules.insert(before, rule);
            before += 1;
        } else {
            rules.push(rule);
        }
    }
    rules.extend([
        rule(
            "numbers",
            K::CreditCard,
            "digit groups: payment cards (Luhn, issuer or a card word nearby), US SSNs (`-`, space or `.`), phone numbers (US, international with `+` or an international prefix `00`/`011`, national next to a phone word), IPv4 addresses",
            r"(?:[+(]|(?-u:\b))[0-9]{1,19}(?:[ .-]|\) ?|[ .-]?\()[0-9]|(?-u:\B)\+[0-9]{7}|(?-u:\b)[0-9]{7}",
            "card 4111 1111 1111 1111, call (555) 123-4567",
            C::Numbers,
        ),
        india(rule(
            "pan",
            K::Pan,
            "Indian PAN numbers",
            r"(?-u:\b)[A-Z]{3}[ABCFGHLJPT][A-Z][0-9]{4}[A-Z](?-u:\b)",
            "PAN ABCPE1234F",
            C::Whole,
        )),
        india(rule(
            "ifsc",
            K::Ifsc,
            "Indian IFSC bank codes",
            r"(?-u:\b)[A-Z]{4}0[A-Z0-9]{6}(?-u:\b)",
            "IFSC HDFC0001234",
            C::Whole,
        )),
    ]);
    rules
}

fn vendor_rule(index: usize, vendor: &Vendor) -> Rule {
    let check_note = match vendor.check {
        VendorCheck::Shape => "",
        VendorCheck::Crc32Base62 => {
            " (CRC32 checksum: a token that carries a valid one is masked even when it looks like a placeholder)"
        }
        VendorCheck::Random => " (next to its name; masked when the value looks random)",
    };
    // A long last run is left to the check (see `LongTail`).
    let (body, tail) = match long_tail(vendor.pattern) {
        Some(tail) => (
            format!(
                "{}[{}]{{{}}}",
                expand(&vendor.pattern[..tail.at]),
                class(tail.class).unwrap_or_default(),
                tail.min
            ),
            true,
        ),
        None => (expand(vendor.pattern), false),
    };
    let starts_word = vendor
        .pattern
        .as_bytes()
        .first()
        .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'{' || *b == b'(' || *b == b'[');
    let lead = if starts_word { r"(?-u:\b)" } else { "" };
    let ends_word = !tail && ends_with_word_class(vendor.pattern);
    let trail = if ends_word { r"(?-u:\b)" } else { "" };
    Rule {
        name: Cow::Borrowed(vendor.name),
        kind: vendor.kind.clone(),
        description: Cow::Owned(format!("{} {}{check_note}", vendor.vendor, vendor.what)),
        pattern: Cow::Owned(format!("{lead}(?:{body}){trail}")),
        example: Cow::Owned(example(
            vendor.name,
            vendor.example.unwrap_or(vendor.pattern),
        )),
        check: Check::Vendor(index),
        secret: true,
        locale: None,
    }
}

/// The character class of a `{class:…}` run.
fn class(name: &str) -> Option<&'static str> {
    CLASSES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, set)| *set)
}

/// The characters of a class, for examples.
fn class_chars(name: &str) -> &'static [u8] {
    match name {
        "an" => b"A7kQz3mR9xLp2VbN8cWd4TfH6jYs5GeU0oKi1",
        "hex" => b"3f9a1c2b77e0d4a158b6",
        "HEX" => b"3F9A1C2B77E0D4A158B6",
        "Hex" => b"3f9A1c2B77e0D4a158b6",
        "b64" => b"Qm9yTz+7kW/x2Lp8aZ4vN1cR6dHs3jYfE5uG0",
        "b64u" => b"Qm9yTz-7kW_x2Lp8aZ4vN1cR6dHs3jYfE5uG0",
        "dot" => b"Qm9yTz.7kW_x2Lp8aZ4vN1cR6dHs3jYfE5uG0",
        "w" => b"Qm9yTz_7kWx2Lp8aZ4vN1cR6dHs3jYfE5uG0",
        "anh" => b"Qm9yTz-7kWx2Lp8aZ4vN1cR6dHs3jYfE5uG0",
        "d" => b"7305918264",
        "lan" => b"k3q9z7m2x8p4v1b6n5c0",
        "UAN" => b"K3Q9Z7M2X8P4V1B6N5C0",
        "b32" => b"K3QZ7M2XP4VBN5CDW6RT",
        "bech" => b"QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L",
        _ => b"x",
    }
}

/// Parses a `{class:n}` or `{class:min,max}` run at the start of `s`: (class, min, max, length).
fn run(s: &str) -> Option<(&str, usize, usize, usize)> {
    let close = s.find('}')?;
    let inner = &s[1..close];
    let (name, counts) = inner.split_once(':')?;
    class(name)?;
    let (min, max) = match counts.split_once(',') {
        Some((a, b)) => (a.parse().ok()?, b.parse().ok()?),
        None => {
            let n = counts.parse().ok()?;
            (n, n)
        }
    };
    Some((name, min, max, close + 1))
}

/// Expands `{class:…}` runs into regex classes.
pub(super) fn expand(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() * 2);
    let mut i = 0;
    while i < pattern.len() {
        let rest = &pattern[i..];
        if rest.starts_with('{')
            && let Some((name, min, max, len)) = run(rest)
        {
            let set = class(name).unwrap_or_default();
            if min == max {
                out.push_str(&format!("[{set}]{{{min}}}"));
            } else {
                out.push_str(&format!("[{set}]{{{min},{max}}}"));
            }
            i += len;
            continue;
        }
        let c = rest.chars().next().unwrap_or_default();
        out.push(c);
        i += c.len_utf8();
    }
    out
}

/// How much longer than its shortest a vendor token's last run may be before its
/// automaton holds only the shortest (see [`LongTail`]).
const LONG_TAIL: usize = 32;

/// A vendor row whose token ends in a long run (`{b64:40,2400}`, then `={0,2}` padding at
/// most; `{an:10,247}`): its automaton holds the run's first `min` characters only, and the
/// check reads the rest, as the pattern would (greedy, up to `max`, then the padding, then
/// the word boundary a run of word characters ends at). A bounded run is as many automaton
/// states as its bound, two for each optional character: the long base64 runs were a tenth
/// of the detectors' build time, the other classes' an eighth of the literal-led
/// automaton's states after that.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct LongTail {
    /// Where the run starts in the pattern.
    at: usize,
    /// Its class's name (`b64`, `an`, …).
    class: &'static str,
    /// The bytes of its class.
    bytes: ByteSet,
    /// Whether the pattern ends at a word boundary after it (a class of word characters:
    /// see [`ends_with_word_class`]).
    word: bool,
    /// Its shortest length.
    min: usize,
    /// How many characters past `min` it may have.
    more: usize,
    /// How many `=` may follow it.
    pad: usize,
}

/// The long last run of a vendor pattern, if it ends in one.
pub(super) fn long_tail(pattern: &str) -> Option<LongTail> {
    let (rest, pad) = match pattern.rsplit_once("={0,") {
        Some((rest, n)) => (rest, n.strip_suffix('}')?.parse().ok()?),
        None => (pattern, 0),
    };
    let at = rest.rfind('{')?;
    let (name, min, max, len) = run(&rest[at..])?;
    let (class, set) = CLASSES.iter().find(|(n, _)| *n == name)?;
    let mut bytes = ByteSet::default();
    let mut spelled = set.as_bytes();
    while let Some((&first, rest)) = spelled.split_first() {
        spelled = match rest {
            // `A-Z`; a `-` last is itself.
            [b'-', last, more @ ..] => {
                (first..=*last).for_each(|b| bytes.insert(b));
                more
            }
            _ => {
                bytes.insert(first);
                rest
            }
        };
    }
    (at + len == rest.len() && max - min >= LONG_TAIL).then_some(LongTail {
        at,
        class,
        bytes,
        word: pad == 0 && WORD_CLASSES.contains(class),
        min,
        more: max - min,
        pad,
    })
}

impl LongTail {
    /// Where a token whose automaton's match ends at `end` ends: the rest of the run, up
    /// to its bound, then its padding. `None` when the pattern would not have matched: a
    /// run of word characters longer than its bound, or followed by another word
    /// character, ends at no word boundary.
    pub(super) fn extend(self, b: &[u8], end: usize) -> Option<usize> {
        let word = |c: &u8| c.is_ascii_alphanumeric() || *c == b'_';
        let in_class = |c: u8| self.bytes.contains(c);
        if self.word {
            let n = super::shapes::run(b, end, self.more + 1, in_class);
            return (n <= self.more && !b.get(end + n).is_some_and(word)).then_some(end + n);
        }
        let e = end + super::shapes::run(b, end, self.more, in_class);
        Some(e + super::shapes::run(b, e, self.pad, |c| c == b'='))
    }
}

/// The classes of the vendor table's runs (`{an:36}`): name, then ranges (`A-Z`) and
/// single bytes, as they are spelled in a pattern's class.
const CLASSES: &[(&str, &str)] = &[
    ("an", "A-Za-z0-9"),
    ("hex", "a-f0-9"),
    ("HEX", "A-F0-9"),
    ("Hex", "a-fA-F0-9"),
    ("b64", "A-Za-z0-9+/"),
    ("b64u", "A-Za-z0-9_-"),
    ("dot", "A-Za-z0-9._"),
    ("w", "A-Za-z0-9_"),
    ("anh", "A-Za-z0-9-"),
    ("d", "0-9"),
    ("lan", "a-z0-9"),
    ("UAN", "A-Z0-9"),
    ("b32", "A-Z2-7"),
    ("bech", "QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L"),
];

/// The classes of word characters only: a pattern that ends in one ends at a word
/// boundary.
const WORD_CLASSES: &[&str] = &["an", "hex", "HEX", "Hex", "d", "lan", "UAN", "b32"];

/// Whether the pattern ends in a run of letters and digits only (then a word boundary
/// closes it).
fn ends_with_word_class(pattern: &str) -> bool {
    let Some(open) = pattern.rfind('{') else {
        return false;
    };
    matches!(run(&pattern[open..]), Some((name, _, _, len)) if open + len == pattern.len()
        && WORD_CLASSES.contains(&name))
}

/// Generates a text from an example pattern: runs become characters of their class
/// (at their minimum length, drawn from a sequence seeded by `seed`), `\x` becomes `x`.
fn example(seed: &str, pattern: &str) -> String {
    let mut state = seed.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    let mut next = move |n: usize| {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((state >> 33) as usize) % n
    };
    let mut out = String::new();
    let mut i = 0;
    let b = pattern.as_bytes();
    while i < b.len() {
        let rest = &pattern[i..];
        if rest.starts_with('{')
            && let Some((name, min, _, len)) = run(rest)
        {
            let chars = class_chars(name);
            for _ in 0..min {
                out.push(chars[next(chars.len())] as char);
            }
            i += len;
            continue;
        }
        match b[i] {
            b'\\' if i + 1 < b.len() => {
                out.push(b[i + 1] as char);
                i += 2;
            }
            b'[' => {
                // A class: its first member.
                out.push(b[i + 1] as char);
                i += rest.find(']').map_or(rest.len(), |e| e + 1);
            }
            b'(' => {
                // A group: its first alternative.
                let close = rest.find(')').unwrap_or(rest.len() - 1);
                let inner = match rest[..close].strip_prefix("(?") {
                    Some(flags) => flags.split_once(':').map_or("", |(_, body)| body),
                    None => &rest[1..close],
                };
                let first = inner.split('|').next().unwrap_or_default();
                out.push_str(&example(seed, first));
                i += close + 1;
                if b.get(i) == Some(&b'?') {
                    i += 1;
                }
            }
            b'{' => {
                // A repetition of the previous character: at its minimum.
                let close = rest.find('}').unwrap_or(rest.len() - 1);
                let min: usize = rest[1..close]
                    .split(',')
                    .next()
                    .and_then(|m| m.parse().ok())
                    .unwrap_or(1);
                if let Some(last) = out.pop() {
                    for _ in 0..min {
                        out.push(last);
                    }
                }
                i += close + 1;
            }
            c => {
                out.push(c as char);
                i += 1;
            }
        }
    }
    if seed.starts_with("github_") || seed == "npm" {
        with_github_checksum(&mut out);
    }
    out
}

/// Replaces the last six characters with the CRC32 checksum GitHub-style tokens carry.
fn with_github_checksum(token: &mut String) {
    let Some(underscore) = token.find('_') else {
        return;
    };
    if token.len() < underscore + 1 + 36 || token.starts_with("github_pat_") {
        return;
    }
    let body_end = token.len() - 6;
    let sum = super::validate::base62_crc32(&token[underscore + 1..body_end]);
    token.truncate(body_end);
    token.push_str(&sum);
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_long_last_run_is_read_as_the_pattern_would() {
        use super::long_tail;
        let tail = long_tail("ops_eyJ{b64:250,1200}={0,2}").unwrap();
        assert_eq!(
            (
                tail.at, tail.class, tail.word, tail.min, tail.more, tail.pad
            ),
            (7, "b64", false, 250, 950, 2)
        );
        assert!(tail.bytes.contains(b'+') && tail.bytes.contains(b'/'));
        assert!(!tail.bytes.contains(b'-') && !tail.bytes.contains(b'='));
        // Short runs, fixed lengths, unknown classes and runs not last stay in the
        // automaton.
        assert!(long_tail("ghp_{an:36}").is_none());
        assert!(long_tail("x{an:10,30}").is_none());
        assert!(long_tail("x{zz:10,400}").is_none());
        assert!(long_tail("x{b64:10,400}y").is_none());
        // The rest of the run up to its bound, then at most `pad` `=`.
        let text = format!("ops_eyJ{}+/==== rest", "A".repeat(300));
        let end = 7 + 250;
        assert_eq!(tail.extend(text.as_bytes(), end), Some(7 + 302 + 2));
        let long = format!("ops_eyJ{}", "A".repeat(2000));
        assert_eq!(tail.extend(long.as_bytes(), end), Some(7 + 1200));
        // A class with `-` and `_` in it, spelled last.
        let dashed = long_tail("x_{b64u:10,400}").unwrap();
        assert!(dashed.bytes.contains(b'-') && dashed.bytes.contains(b'_'));
        assert!(!dashed.bytes.contains(b'+') && !dashed.word);
    }

    #[test]
    fn a_long_run_of_word_characters_ends_at_a_word_boundary_as_its_pattern_did() {
        use super::long_tail;
        use regex_automata::meta::Regex;
        let pattern = "sk_live_{an:10,247}";
        let tail = long_tail(pattern).unwrap();
        assert!(tail.word);
        let whole = Regex::new(&format!("^{}(?-u:\\b)", expand(pattern))).unwrap();
        for text in [
            format!("sk_live_{} rest", "a".repeat(40)),
            format!("sk_live_{}", "a".repeat(247)),
            format!("sk_live_{}.", "a".repeat(248)),
            format!("sk_live_{}_x", "a".repeat(40)),
            format!("sk_live_{}-x", "a".repeat(40)),
            format!("sk_live_{}é", "a".repeat(40)),
            format!("sk_live_{}", "a".repeat(5)),
        ] {
            let b = text.as_bytes();
            let head = "sk_live_".len() + tail.min;
            let read = (b.len() >= head && b[8..head].iter().all(u8::is_ascii_alphanumeric))
                .then(|| tail.extend(b, head))
                .flatten();
            assert_eq!(read, whole.find(b).map(|m| m.end()), "{text}");
        }
    }

    #[test]
    fn the_secret_words_are_the_assignment_rules_words() {
        assert_eq!(ASSIGN_WORDS, format!("(?i)(?:{})", SECRET_WORDS.join("|")));
    }

    use super::*;
    use regex_automata::util::syntax;

    #[test]
    fn every_pattern_is_bounded() {
        for r in builtin_rules() {
            let hir = syntax::parse_with(
                &r.pattern,
                &syntax::Config::new().unicode(false).utf8(false),
            )
            .unwrap_or_else(|e| panic!("{}: {e}", r.name));
            let max = hir.properties().maximum_len();
            assert!(
                max.is_some_and(|m| m <= MAX_MATCH_BYTES),
                "{} can match {max:?} bytes",
                r.name
            );
        }
    }

    #[test]
    fn names_are_unique_and_described() {
        let rules = builtin_rules();
        let mut names: Vec<&str> = rules.iter().map(|r| &*r.name).collect();
        names.sort_unstable();
        let before = names.len();
        names.dedup();
        assert_eq!(before, names.len(), "duplicate detector names");
        for r in &rules {
            assert!(
                !r.description.is_empty() && !r.example.is_empty(),
                "{}",
                r.name
            );
        }
    }

    #[test]
    fn vendor_breadth() {
        let mut vendors: Vec<&str> = VENDORS.iter().map(|v| v.vendor).collect();
        vendors.sort_unstable();
        vendors.dedup();
        assert!(vendors.len() >= 100, "{} vendors", vendors.len());
    }

    #[test]
    fn expansion() {
        assert_eq!(expand("ghp_{an:36}"), "ghp_[A-Za-z0-9]{36}");
        assert_eq!(expand("x{hex:2,4}y"), "x[a-f0-9]{2,4}y");
        assert_eq!(
            example("t", "a\\.b{d:3}"),
            "a.b".to_owned() + &example("t", "{d:3}")
        );
        assert!(ends_with_word_class("ghp_{an:36}") && !ends_with_word_class("x{b64u:3}"));
    }
}
