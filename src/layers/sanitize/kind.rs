//! What the sanitizer finds: the kinds of sensitive values, and one finding.

use std::fmt;
use std::sync::Arc;

/// Kind names accepted in `sanitize.masks`.
pub const KIND_NAMES: &[&str] = &[
    "email",
    "phone",
    "ssn",
    "credit_card",
    "ip_address",
    "aws_access_key",
    "aws_secret_key",
    "api_key",
    "jwt",
    "private_key",
    "connection_string",
    "password",
    "auth_header",
    "iban",
    "aadhaar",
    "pan",
    "upi",
    "ifsc",
    "secret",
    "crypto_wallet",
    "mac_address",
    "national_id",
    "bank_account",
];

/// What a finding is.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Kind {
    /// An e-mail address, plain or obfuscated (`john at example dot com`).
    Email,
    /// A phone number (US formats, international with a country code).
    Phone,
    /// A US Social Security number.
    Ssn,
    /// A payment card number (Luhn-checked).
    CreditCard,
    /// An IPv4 or IPv6 address.
    IpAddress,
    /// An AWS access key id.
    AwsAccessKey,
    /// An AWS secret access key.
    AwsSecretKey,
    /// A vendor API key or token (GitHub, Slack, Stripe, OpenAI, …).
    ApiKey,
    /// A JSON Web Token.
    Jwt,
    /// A private key block (PEM, OpenSSH, PGP).
    PrivateKey,
    /// The password of a connection string or URL.
    ConnectionString,
    /// The value assigned to a secret name (`DB_PASSWORD=…`, `api_key: …`, `--token …`).
    Password,
    /// The credential of an `Authorization` header, a bearer token or a cookie.
    AuthHeader,
    /// An IBAN (mod-97 checked).
    Iban,
    /// An Aadhaar number (Verhoeff checked; locale `in`).
    Aadhaar,
    /// An Indian PAN (locale `in`).
    Pan,
    /// A UPI id (locale `in`).
    Upi,
    /// An IFSC bank code (locale `in`).
    Ifsc,
    /// A value under a sensitive key name in JSON.
    SensitiveField,
    /// A cryptocurrency wallet address (Bitcoin, Ethereum; checksum validated).
    CryptoWallet,
    /// A network interface's MAC address.
    MacAddress,
    /// A national identifier: of an opt-in locale (NINO, NIR, DNI, CPF, SIN, TFN, …), or a
    /// US ITIN, passport, driver's license or DEA number.
    NationalId,
    /// A bank account or ABA routing number, after its name.
    BankAccount,
    /// A workspace pattern from the configuration.
    Custom(Arc<str>),
}

impl Kind {
    /// The label used in masks: `[REDACTED:<LABEL>]`.
    pub fn label(&self) -> std::borrow::Cow<'static, str> {
        use std::borrow::Cow;
        Cow::Borrowed(match self {
            Kind::Email => "EMAIL",
            Kind::Phone => "PHONE",
            Kind::Ssn => "SSN",
            Kind::CreditCard => "CREDIT_CARD",
            Kind::IpAddress => "IP_ADDRESS",
            Kind::AwsAccessKey => "AWS_ACCESS_KEY",
            Kind::AwsSecretKey => "AWS_SECRET_KEY",
            Kind::ApiKey => "API_KEY",
            Kind::Jwt => "JWT",
            Kind::PrivateKey => "PRIVATE_KEY",
            Kind::ConnectionString => "CONNECTION_STRING",
            Kind::Password => "PASSWORD",
            Kind::AuthHeader => "AUTH_HEADER",
            Kind::Iban => "IBAN",
            Kind::Aadhaar => "AADHAAR",
            Kind::Pan => "PAN",
            Kind::Upi => "UPI",
            Kind::Ifsc => "IFSC",
            Kind::SensitiveField => "SECRET",
            Kind::CryptoWallet => "CRYPTO_WALLET",
            Kind::MacAddress => "MAC_ADDRESS",
            Kind::NationalId => "NATIONAL_ID",
            Kind::BankAccount => "BANK_ACCOUNT",
            Kind::Custom(name) => return Cow::Owned(name.to_ascii_uppercase()),
        })
    }

    /// The name used in notes and the configuration (`credit_card`).
    pub fn name(&self) -> &str {
        match self {
            Kind::Email => "email",
            Kind::Phone => "phone",
            Kind::Ssn => "ssn",
            Kind::CreditCard => "credit_card",
            Kind::IpAddress => "ip_address",
            Kind::AwsAccessKey => "aws_access_key",
            Kind::AwsSecretKey => "aws_secret_key",
            Kind::ApiKey => "api_key",
            Kind::Jwt => "jwt",
            Kind::PrivateKey => "private_key",
            Kind::ConnectionString => "connection_string",
            Kind::Password => "password",
            Kind::AuthHeader => "auth_header",
            Kind::Iban => "iban",
            Kind::Aadhaar => "aadhaar",
            Kind::Pan => "pan",
            Kind::Upi => "upi",
            Kind::Ifsc => "ifsc",
            Kind::SensitiveField => "secret",
            Kind::CryptoWallet => "crypto_wallet",
            Kind::MacAddress => "mac_address",
            Kind::NationalId => "national_id",
            Kind::BankAccount => "bank_account",
            Kind::Custom(name) => name,
        }
    }

    /// Personal data (as opposed to a secret).
    pub fn is_pii(&self) -> bool {
        matches!(
            self,
            Kind::Email
                | Kind::Phone
                | Kind::Ssn
                | Kind::CreditCard
                | Kind::IpAddress
                | Kind::Iban
                | Kind::Aadhaar
                | Kind::Pan
                | Kind::Upi
                | Kind::Ifsc
                | Kind::CryptoWallet
                | Kind::MacAddress
                | Kind::NationalId
                | Kind::BankAccount
        )
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One thing found: its kind, which detector rule found it, and the byte span to mask.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// What it is.
    pub kind: Kind,
    /// The rule that found it (`github`, `us_phone`, …).
    pub rule: Arc<str>,
    /// The rule's index in its detector (see [`Detector::rule_kinds`](super::Detector::rule_kinds)).
    pub rule_id: usize,
    /// Start byte offset of the sensitive part.
    pub start: usize,
    /// End byte offset (exclusive).
    pub end: usize,
}
