//! Vendor token formats: one row per documented format, data only.
//!
//! Each row is a vendor, what the token is, and its shape in a small pattern
//! language: regex text where `{class:n}` or `{class:min,max}` stands for a
//! bounded run of a character class (`an` letters and digits, `hex`, `HEX`,
//! `Hex` either case, `b64`, `b64u` URL-safe, `dot` letters, digits, `.` and
//! `_`, `d` digits, `lan` lowercase letters and digits, `UAN` uppercase letters
//! and digits, `b32` RFC 4648 base32, `bech` the bech32 alphabet). The same text generates the row's
//! example, so the example always fits the pattern (a row whose pattern holds
//! other regex syntax gives its example with the same `{class:n}` runs).
//!
//! Formats come from each vendor's documentation of its token prefixes and
//! lengths; rows whose vendor defines a checksum say so in `check`.

use super::kind::Kind;

/// How a vendor row's match is confirmed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum VendorCheck {
    /// The shape is distinctive: masked unless the body is a placeholder (`xxxx…`).
    Shape,
    /// The last six characters are the base62 CRC32 of the 30 before them (GitHub, npm):
    /// a token carrying a valid one is masked even when it looks like a placeholder.
    Crc32Base62,
    /// The shape alone is weak (hex or base64 without a prefix): masked only when the body
    /// looks random.
    Random,
}

/// One vendor token format.
pub(super) struct Vendor {
    /// The detector name (`github_pat_classic`).
    pub name: &'static str,
    /// Who issues it.
    pub vendor: &'static str,
    /// What it is.
    pub what: &'static str,
    /// The shape (see the module docs).
    pub pattern: &'static str,
    /// An example in the same language, when the pattern holds regex syntax.
    pub example: Option<&'static str>,
    /// The confirmation.
    pub check: VendorCheck,
    /// The kind its findings have.
    pub kind: Kind,
    /// The pattern names the token before it (`DD_API_KEY=…`, `AccountKey=…`): what is
    /// masked is the value after the first `:` or `=`.
    pub named: bool,
}

impl Vendor {
    /// The length of the literal text a token of this row starts with (`ghp_`, and the
    /// 21 `A`s of `A{21}…`).
    pub(super) fn prefix_len(&self) -> usize {
        let b = self.pattern.as_bytes();
        let mut n = 0;
        let mut i = 0;
        while i < b.len() && (b[i].is_ascii_alphanumeric() || matches!(b[i], b'_' | b'-')) {
            n += 1;
            i += 1;
        }
        // A repetition of the last literal: `A{21}`.
        if n > 0 && b.get(i) == Some(&b'{') {
            let close = self.pattern[i..].find('}').map_or(i, |c| i + c);
            if let Ok(times) = self.pattern[i + 1..close].parse::<usize>() {
                n += times - 1;
            }
        }
        n
    }
}

const fn v(
    name: &'static str,
    vendor: &'static str,
    what: &'static str,
    pattern: &'static str,
) -> Vendor {
    Vendor {
        name,
        vendor,
        what,
        pattern,
        example: None,
        check: VendorCheck::Shape,
        kind: Kind::ApiKey,
        named: false,
    }
}

const fn ve(
    name: &'static str,
    vendor: &'static str,
    what: &'static str,
    pattern: &'static str,
    example: &'static str,
) -> Vendor {
    Vendor {
        name,
        vendor,
        what,
        pattern,
        example: Some(example),
        check: VendorCheck::Shape,
        kind: Kind::ApiKey,
        named: false,
    }
}

const fn crc(mut row: Vendor) -> Vendor {
    row.check = VendorCheck::Crc32Base62;
    row
}

/// A format without a prefix of its own, found after its vendor's name: the value is
/// masked when it looks random.
const fn random(mut row: Vendor) -> Vendor {
    row.check = VendorCheck::Random;
    row.named = true;
    row
}

/// A token given after a name of the vendor's (`AccountKey=`).
const fn named(mut row: Vendor) -> Vendor {
    row.named = true;
    row
}

const fn aws(
    name: &'static str,
    what: &'static str,
    pattern: &'static str,
    example: &'static str,
) -> Vendor {
    Vendor {
        name,
        vendor: "AWS",
        what,
        pattern,
        example: Some(example),
        check: VendorCheck::Shape,
        kind: Kind::AwsAccessKey,
        named: false,
    }
}

/// Every vendor format, in priority order (more specific prefixes first).
pub(super) const VENDORS: &[Vendor] = &[
    // Source hosting and CI.
    crc(v(
        "github_pat_classic",
        "GitHub",
        "personal access token (classic)",
        "ghp_{an:36}",
    )),
    crc(v(
        "github_oauth",
        "GitHub",
        "OAuth access token",
        "gho_{an:36}",
    )),
    crc(v(
        "github_user_to_server",
        "GitHub",
        "user-to-server token",
        "ghu_{an:36}",
    )),
    crc(v(
        "github_server_to_server",
        "GitHub",
        "server-to-server (app installation) token",
        "ghs_{an:36}",
    )),
    crc(v(
        "github_refresh",
        "GitHub",
        "refresh token",
        "ghr_{an:36,76}",
    )),
    ve(
        "github_pat_fine_grained",
        "GitHub",
        "fine-grained personal access token",
        "github_pat_{w:22,255}",
        "github_pat_11{UAN:20}_{an:59}",
    ),
    v(
        "gitlab_pat",
        "GitLab",
        "personal, project or group access token",
        "glpat-{b64u:20,64}",
    ),
    v(
        "gitlab_deploy",
        "GitLab",
        "deploy token",
        "gldt-{b64u:20,64}",
    ),
    v(
        "gitlab_runner",
        "GitLab",
        "runner authentication token",
        "glrt-{b64u:20,64}",
    ),
    v(
        "gitlab_runner_registration",
        "GitLab",
        "runner registration token",
        "GR1348941{b64u:20,64}",
    ),
    v(
        "gitlab_pipeline_trigger",
        "GitLab",
        "pipeline trigger token",
        "glptt-{Hex:40}",
    ),
    v(
        "gitlab_ci_job",
        "GitLab",
        "CI/CD job token",
        "glcbt-{b64u:20,80}",
    ),
    v(
        "gitlab_incoming_mail",
        "GitLab",
        "incoming e-mail token",
        "glimt-{b64u:25,64}",
    ),
    v(
        "gitlab_oauth_secret",
        "GitLab",
        "OAuth application secret",
        "gloas-{b64u:40,80}",
    ),
    v("gitlab_scim", "GitLab", "SCIM token", "glsoat-{b64u:20,64}"),
    v(
        "gitlab_feature_flags",
        "GitLab",
        "feature flag client token",
        "glffct-{b64u:20,64}",
    ),
    v("gitlab_feed", "GitLab", "feed token", "glft-{b64u:20,64}"),
    v(
        "gitlab_agent",
        "GitLab",
        "Kubernetes agent token",
        "glagent-{b64u:50,100}",
    ),
    v(
        "bitbucket_app_password",
        "Atlassian",
        "Bitbucket app password",
        "ATBB{an:32}",
    ),
    v(
        "atlassian_api_token",
        "Atlassian",
        "API token (Jira, Confluence)",
        "ATATT3{b64u:150,250}",
    ),
    v(
        "circleci_pat",
        "CircleCI",
        "personal API token",
        "CCIPAT_{an:22}_{hex:40}",
    ),
    v(
        "buildkite",
        "Buildkite",
        "API access token",
        "bkua_{hex:40}",
    ),
    v(
        "sonarqube",
        "SonarSource",
        "SonarQube / SonarCloud token",
        "sq[pua]_{hex:40}",
    ),
    v(
        "docker_hub_pat",
        "Docker",
        "Docker Hub personal access token",
        "dckr_pat_{b64u:27,40}",
    ),
    v(
        "docker_hub_oat",
        "Docker",
        "Docker Hub organization access token",
        "dckr_oat_{b64u:27,40}",
    ),
    v(
        "jfrog_api_key",
        "JFrog",
        "Artifactory API key",
        "AKCp{an:69}",
    ),
    v(
        "jfrog_reference",
        "JFrog",
        "Artifactory reference token",
        "cmVmdGtuOjAxOj{an:50,64}",
    ),
    // Package registries.
    crc(v("npm", "npm", "access token", "npm_{an:36}")),
    ve(
        "pypi",
        "PyPI",
        "API token (a macaroon for pypi.org)",
        "pypi-AgEIcHlwaS5vcmc{b64u:50,300}",
        "pypi-AgEIcHlwaS5vcmc{b64u:80}",
    ),
    ve(
        "pypi_test",
        "PyPI",
        "TestPyPI API token",
        "pypi-AgENdGVzdC5weXBpLm9yZw{b64u:50,300}",
        "pypi-AgENdGVzdC5weXBpLm9yZw{b64u:80}",
    ),
    v("rubygems", "RubyGems", "API key", "rubygems_{hex:48}"),
    v("nuget", "NuGet", "API key", "oy2{lan:43}"),
    v("crates_io", "crates.io", "API token", "cio{an:32}"),
    v("clojars", "Clojars", "deploy token", "CLOJARS_{lan:60}"),
    // Chat and collaboration.
    ve(
        "slack_bot",
        "Slack",
        "bot token",
        "xoxb-{d:10,13}-{d:10,13}(?:-{an:24,34})?",
        "xoxb-{d:12}-{d:13}-{an:24}",
    ),
    // Bot users of Slack's legacy custom integrations: `xoxb-`, the bot's number, and a
    // token of letters and digits (gitleaks' `slack-legacy-bot-token` gives the lengths).
    v(
        "slack_legacy_bot",
        "Slack",
        "legacy bot token",
        "xoxb-{d:8,14}-{an:18,26}",
    ),
    ve(
        "slack_user",
        "Slack",
        "user token",
        "xoxp-{d:10,13}-{d:10,13}-{d:10,13}-{Hex:28,34}",
        "xoxp-{d:12}-{d:12}-{d:13}-{hex:32}",
    ),
    ve(
        "slack_legacy",
        "Slack",
        "legacy user or workspace token",
        "xox[os]-{d:1,13}-{d:1,13}-{d:1,13}-{Hex:8,64}",
        "xoxs-{d:12}-{d:12}-{d:12}-{hex:64}",
    ),
    ve(
        "slack_app_token",
        "Slack",
        "app or refresh token",
        "xox[ar]-{d:1,13}-{anh:20,160}",
        "xoxa-2-{an:40}",
    ),
    ve(
        "slack_config",
        "Slack",
        "configuration access or refresh token",
        "xoxe(?:\\.xox[bp])?-{d:1}-{UAN:100,180}",
        "xoxe.xoxp-1-{UAN:140}",
    ),
    v(
        "slack_app",
        "Slack",
        "app-level token",
        "xapp-{d:1}-{UAN:9,12}-{d:10,13}-{hex:64}",
    ),
    ve(
        "slack_webhook",
        "Slack",
        "incoming webhook URL",
        "https?://hooks\\.slack\\.com/(?:services|workflows|triggers)/{an:9,12}/{an:9,12}/(?:{d:10,20}/{an:20,40}|{an:20,32})",
        "https://hooks.slack.com/services/T{UAN:8}/B{UAN:10}/{an:24}",
    ),
    ve(
        "discord_bot",
        "Discord",
        "bot token",
        "[MNO]{an:23,25}\\.{b64u:6}\\.{b64u:27,40}",
        "M{an:23}.{b64u:6}.{b64u:38}",
    ),
    ve(
        "discord_webhook",
        "Discord",
        "webhook URL",
        "https://(?:ptb\\.|canary\\.)?discord(?:app)?\\.com/api/(?:v{d:1,2}/)?webhooks/{d:17,20}/{b64u:60,68}",
        "https://discord.com/api/webhooks/{d:18}/{b64u:68}",
    ),
    ve(
        "telegram_bot",
        "Telegram",
        "bot API token",
        "(?:bot)?{d:8,12}:AA{b64u:33}",
        "{d:10}:AA{b64u:33}",
    ),
    ve(
        "teams_webhook",
        "Microsoft",
        "Teams incoming webhook URL",
        "https://{lan:1,40}\\.webhook\\.office\\.com/webhookb2/{b64u:30,80}@{b64u:30,80}/IncomingWebhook/{hex:32}/{b64u:30,80}(?:/V2{b64u:20,80})?",
        "https://contoso.webhook.office.com/webhookb2/{b64u:36}@{b64u:36}/IncomingWebhook/{hex:32}/{b64u:36}",
    ),
    ve(
        "zapier_webhook",
        "Zapier",
        "catch hook URL",
        "https://hooks\\.zapier\\.com/hooks/catch/{d:5,10}/{lan:5,10}",
        "https://hooks.zapier.com/hooks/catch/{d:8}/{lan:7}",
    ),
    ve(
        "google_chat_webhook",
        "Google",
        "Chat incoming webhook URL (its key and token)",
        "https://chat\\.googleapis\\.com/v1/spaces/{b64u:8,20}/messages\\?key={b64u:39}&token=[A-Za-z0-9_%=-]{40,64}",
        "https://chat.googleapis.com/v1/spaces/AAAA{b64u:7}/messages?key=AIza{b64u:35}&token={b64u:43}%3D",
    ),
    ve(
        "lark_webhook",
        "Lark / Feishu",
        "bot webhook URL",
        "https://open\\.(?:feishu\\.cn|larksuite\\.com)/open-apis/bot/v2/hook/{Hex:8}-{Hex:4}-{Hex:4}-{Hex:4}-{Hex:12}",
        "https://open.feishu.cn/open-apis/bot/v2/hook/{hex:8}-{hex:4}-{hex:4}-{hex:4}-{hex:12}",
    ),
    ve(
        "wecom_webhook",
        "WeCom",
        "group robot webhook URL",
        "https://qyapi\\.weixin\\.qq\\.com/cgi-bin/webhook/send\\?key={Hex:8}-{Hex:4}-{Hex:4}-{Hex:4}-{Hex:12}",
        "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={hex:8}-{hex:4}-{hex:4}-{hex:4}-{hex:12}",
    ),
    ve(
        "dingtalk_webhook",
        "DingTalk",
        "robot webhook URL",
        "https://oapi\\.dingtalk\\.com/robot/send\\?access_token={hex:64}",
        "https://oapi.dingtalk.com/robot/send?access_token={hex:64}",
    ),
    ve(
        "mattermost_webhook",
        "Mattermost",
        "incoming webhook URL path (a 26-character id)",
        "/hooks/{lan:26}",
        "https://chat.example.com/hooks/{lan:26}",
    ),
    ve(
        "rocketchat_webhook",
        "Rocket.Chat",
        "integration webhook URL path (id and token)",
        "/hooks/{an:17}/{an:40,64}",
        "https://chat.example.com/hooks/{an:17}/{an:48}",
    ),
    v("linear", "Linear", "API key", "lin_api_{an:40}"),
    v(
        "linear_oauth",
        "Linear",
        "OAuth access token",
        "lin_oauth_{hex:64}",
    ),
    // HubSpot private apps' access tokens: `pat-`, the account's data centre, a UUID.
    ve(
        "hubspot_private_app",
        "HubSpot",
        "private app access token",
        "pat-(?:na|eu|ap)[0-9]-{hex:8}-{hex:4}-{hex:4}-{hex:4}-{hex:12}",
        "pat-na1-{hex:8}-{hex:4}-{hex:4}-{hex:4}-{hex:12}",
    ),
    // Intercom's access tokens: the base64 of `tok:` and the token.
    ve(
        "intercom",
        "Intercom",
        "access token",
        "dG9rOj{b64:40,120}",
        "dG9rOj{b64:54}",
    ),
    v(
        "notion_integration",
        "Notion",
        "integration token",
        "ntn_{d:11}{an:35}",
    ),
    v(
        "notion_secret",
        "Notion",
        "internal integration secret (legacy)",
        "secret_{an:43}",
    ),
    v(
        "airtable_pat",
        "Airtable",
        "personal access token",
        "pat{an:14}\\.{hex:64}",
    ),
    v(
        "asana_pat",
        "Asana",
        "personal access token",
        "[12]/{d:16}:{hex:32}",
    ),
    v(
        "typeform",
        "Typeform",
        "personal access token",
        "tfp_{b64u:40,60}",
    ),
    v(
        "contentful",
        "Contentful",
        "personal access token",
        "CFPAT-{b64u:43}",
    ),
    v("postman", "Postman", "API key", "PMAK-{hex:24}-{hex:34}"),
    v("frameio", "Frame.io", "developer token", "fio-u-{b64u:64}"),
    v("readme", "ReadMe", "API key", "rdme_{lan:70}"),
    v("figma", "Figma", "personal access token", "figd_{b64u:40}"),
    v("apify", "Apify", "API token", "apify_api_{an:36}"),
    v(
        "mongodb_atlas_service_account",
        "MongoDB",
        "Atlas service account secret",
        "mdb_sa_sk_{an:40}",
    ),
    v(
        "posthog_personal",
        "PostHog",
        "personal API key",
        "phx_{an:43}",
    ),
    v(
        "datastax_astra",
        "DataStax",
        "Astra DB application token",
        "AstraCS:{an:24}:{hex:64}",
    ),
    // Cloud, infrastructure and operations.
    aws(
        "aws_access_key",
        "access key id",
        "(?:AKIA|ASIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|APKA|ABIA|ACCA)[0-9A-Z]{16}",
        "AKIA{b32:16}",
    ),
    v(
        "aws_bedrock",
        "AWS",
        "Bedrock API key",
        "ABSKQmVkcm9ja0FQSUtleS{b64:100,200}={0,2}",
    ),
    // Amazon Bedrock's short-term API keys: `bedrock-api-key-` and the base64 of a presigned
    // `bedrock.amazonaws.com/?Action=CallWithBearerToken…` URL.
    // STS session tokens (`aws sts get-session-token`, `assume-role`): base64 of a message
    // that starts the same for every token of a generation.
    ve(
        "aws_session_token",
        "AWS",
        "STS session token",
        "(?:IQoJb3JpZ2luX2Vj|FwoGZXIvYXdz|FQoGZXIvYXdz){b64:100,2000}={0,2}",
        "IQoJb3JpZ2luX2Vj{b64:300}",
    ),
    ve(
        "aws_bedrock_short_term",
        "AWS",
        "Bedrock short-term API key",
        "bedrock-api-key-YmVkcm9jay5hbWF6b25hd3MuY29t{b64:40,2400}={0,2}",
        "bedrock-api-key-YmVkcm9jay5hbWF6b25hd3MuY29t{b64:400}",
    ),
    ve(
        "google_api_key",
        "Google",
        "API key",
        "AIza{b64u:35}",
        "AIzaSy{b64u:33}",
    ),
    v(
        "google_oauth_secret",
        "Google",
        "OAuth client secret",
        "GOCSPX-{b64u:28}",
    ),
    v(
        "google_oauth_token",
        "Google",
        "OAuth access token",
        "ya29\\.{b64u:30,300}",
    ),
    ve(
        "google_refresh_token",
        "Google",
        "OAuth refresh token",
        "1//0{b64u:40,200}",
        "1//0{b64u:64}",
    ),
    v(
        "firebase_fcm",
        "Google",
        "Firebase Cloud Messaging server key",
        "AAAA{b64u:7}:APA91b{b64u:134,140}",
    ),
    named(ve(
        "azure_storage",
        "Microsoft",
        "Azure storage account key",
        "AccountKey={b64:86}==",
        "AccountKey={b64:86}==",
    )),
    ve(
        "azure_ad_secret",
        "Microsoft",
        "Entra ID (Azure AD) client secret",
        "[A-Za-z0-9_~.]{3}[0-9]Q~[A-Za-z0-9_~.-]{31,34}",
        "{an:3}8Q~{an:34}",
    ),
    ve(
        "azure_sas_sig",
        "Microsoft",
        "Azure shared access signature",
        "sv=20{d:2}-{d:2}-{d:2}&[A-Za-z0-9=&%:._-]{0,200}sig={b64:40,64}(?:%3D|=){0,2}",
        "sv=2024-11-04&ss=b&srt=sco&sp=rl&se=2026-12-31T00%3A00%3A00Z&sig={b64:43}%3D",
    ),
    v("alibaba", "Alibaba Cloud", "AccessKey id", "LTAI{an:12,20}"),
    v("tencent", "Tencent Cloud", "SecretId", "AKID{an:32}"),
    v("scaleway", "Scaleway", "access key", "SCW{UAN:17}"),
    v(
        "digitalocean_pat",
        "DigitalOcean",
        "personal access token",
        "dop_v1_{hex:64}",
    ),
    v(
        "digitalocean_oauth",
        "DigitalOcean",
        "OAuth token",
        "doo_v1_{hex:64}",
    ),
    v(
        "digitalocean_refresh",
        "DigitalOcean",
        "refresh token",
        "dor_v1_{hex:64}",
    ),
    v("heroku", "Heroku", "API key", "HRKU-AA{b64u:58}"),
    v("fly_io", "Fly.io", "access token", "fo1_{b64u:43}"),
    ve(
        "fly_io_macaroon",
        "Fly.io",
        "macaroon token",
        "FlyV1 fm[12][ar]?_{b64:100,800}={0,2}",
        "FlyV1 fm2_{b64:120}",
    ),
    v("render", "Render", "API key", "rnd_{an:32}"),
    v("netlify", "Netlify", "personal access token", "nfp_{an:36}"),
    v("deno_deploy", "Deno", "Deploy token", "dd[pw]_{an:36}"),
    v("vercel", "Vercel", "access token", "vc[pkari]_{an:56}"),
    v(
        "supabase",
        "Supabase",
        "personal access token",
        "sbp_{hex:40}",
    ),
    v(
        "supabase_secret",
        "Supabase",
        "secret API key",
        "sb_secret_{b64u:30,40}",
    ),
    v(
        "planetscale_token",
        "PlanetScale",
        "service token",
        "pscale_tkn_{b64u:32,64}",
    ),
    v(
        "planetscale_password",
        "PlanetScale",
        "database password",
        "pscale_pw_{b64u:32,64}",
    ),
    v(
        "planetscale_oauth",
        "PlanetScale",
        "OAuth token",
        "pscale_oauth_{b64u:32,64}",
    ),
    v("neon", "Neon", "API key", "napi_{lan:64}"),
    v(
        "databricks",
        "Databricks",
        "personal access token",
        "dapi{hex:32}(?:-[0-9])?",
    ),
    v("pulumi", "Pulumi", "access token", "pul-{hex:40}"),
    v(
        "terraform_cloud",
        "HashiCorp",
        "Terraform Cloud API token",
        "{an:14}\\.atlasv1\\.{b64u:60,70}",
    ),
    v(
        "vault_service",
        "HashiCorp",
        "Vault service token",
        "hvs\\.{b64u:90,120}",
    ),
    v(
        "vault_batch",
        "HashiCorp",
        "Vault batch token",
        "hvb\\.{b64u:138,300}",
    ),
    v(
        "doppler",
        "Doppler",
        "token (personal, service, CLI, SCIM, audit)",
        "dp\\.(?:pt|st|sa|ct|scim|audit)\\.{an:40,44}",
    ),
    ve(
        "onepassword_service",
        "1Password",
        "service account token",
        "ops_eyJ{b64:250,1200}={0,2}",
        "ops_eyJ{b64:260}",
    ),
    ve(
        "onepassword_secret_key",
        "1Password",
        "account secret key",
        "A3-{UAN:6}-{UAN:6}-{UAN:5}-{UAN:5}-{UAN:5}-{UAN:5}",
        "A3-{UAN:6}-{UAN:6}-{UAN:5}-{UAN:5}-{UAN:5}-{UAN:5}",
    ),
    ve(
        "tailscale",
        "Tailscale",
        "API, auth, OAuth client or webhook key",
        "tskey-(?:api|auth|client|scim|webhook)-{an:6,20}-{an:16,64}",
        "tskey-auth-k{an:11}-{an:33}",
    ),
    v(
        "grafana_cloud",
        "Grafana",
        "Cloud access policy token",
        "glc_{b64:32,400}={0,2}",
    ),
    v(
        "grafana_service_account",
        "Grafana",
        "service account token",
        "glsa_{an:32}_{Hex:8}",
    ),
    v(
        "dynatrace",
        "Dynatrace",
        "API token",
        "dt0c01\\.{UAN:24}\\.{UAN:64}",
    ),
    v(
        "newrelic_user",
        "New Relic",
        "user API key",
        "NRAK-{UAN:27}",
    ),
    v(
        "newrelic_insert",
        "New Relic",
        "insights insert key",
        "NRII-{b64u:32}",
    ),
    v(
        "newrelic_browser",
        "New Relic",
        "browser API token",
        "NRJS-{hex:19}",
    ),
    v(
        "sentry_org",
        "Sentry",
        "organization auth token",
        "sntrys_eyJ{b64:80,300}={0,2}",
    ),
    v(
        "sentry_user",
        "Sentry",
        "user auth token",
        "sntryu_{hex:64}",
    ),
    v(
        "openshift",
        "Red Hat",
        "OpenShift user token",
        "sha256~{b64u:43}",
    ),
    v(
        "octopus_deploy",
        "Octopus Deploy",
        "API key",
        "API-{UAN:25,26}",
    ),
    v("prefect", "Prefect", "API key", "pnu_{an:36}"),
    v("infracost", "Infracost", "API token", "ico-{an:32}"),
    v(
        "harness",
        "Harness",
        "personal or service account token",
        "(?:pat|sat)\\.{b64u:22}\\.{hex:24}\\.{an:20}",
    ),
    v(
        "cloudflare_origin_ca",
        "Cloudflare",
        "Origin CA key",
        "v1\\.0-{hex:24}-{hex:146}",
    ),
    v(
        "age_secret_key",
        "age",
        "file-encryption secret key",
        "AGE-SECRET-KEY-1{bech:58}",
    ),
    // Payments and commerce.
    // PayPal's OAuth access tokens (`A21AA…`), Klaviyo's private API keys (`pk_` and 34).
    v(
        "paypal_access",
        "PayPal",
        "OAuth access token",
        "A21AA{b64u:60,200}",
    ),
    v(
        "klaviyo_private",
        "Klaviyo",
        "private API key",
        "pk_{an:34}",
    ),
    // Salesforce session ids and OAuth access tokens: the org's id (`00D…`), `!`, the
    // session's part.
    ve(
        "salesforce_session",
        "Salesforce",
        "session id / access token",
        "00D{an:12,15}!AQ{dot:60,200}",
        "00D{an:12}!AQ{dot:94}",
    ),
    ve(
        "stripe_secret",
        "Stripe",
        "secret or restricted key",
        "(?:sk|rk)_(?:live|test|prod)_{an:10,247}",
        "sk_live_{an:99}",
    ),
    v(
        "stripe_webhook",
        "Stripe",
        "webhook signing secret",
        "whsec_{an:32,64}",
    ),
    ve(
        "square_access",
        "Square",
        "access token",
        "(?:EAAA|sq0atp-){b64u:22,60}",
        "EAAA{b64u:60}",
    ),
    v(
        "square_oauth_secret",
        "Square",
        "OAuth application secret",
        "sq0csp-{b64u:43}",
    ),
    ve(
        "braintree",
        "PayPal",
        "Braintree access token",
        "access_token\\$(?:production|sandbox)\\${lan:16}\\${hex:32}",
        "access_token$production${lan:16}${hex:32}",
    ),
    ve(
        "razorpay",
        "Razorpay",
        "API key id",
        "rzp_(?:live|test)_{an:14}",
        "rzp_live_{an:14}",
    ),
    ve(
        "flutterwave",
        "Flutterwave",
        "secret key",
        "FLWSECK(?:_TEST)?-{hex:32}-X",
        "FLWSECK_TEST-{hex:32}-X",
    ),
    ve(
        "shippo",
        "Shippo",
        "API token",
        "shippo_(?:live|test)_{hex:40}",
        "shippo_live_{hex:40}",
    ),
    ve(
        "duffel",
        "Duffel",
        "access token",
        "duffel_(?:test|live)_{b64u:43}",
        "duffel_live_{b64u:43}",
    ),
    ve(
        "easypost",
        "EasyPost",
        "API key",
        "EZ[AT]K{an:54}",
        "EZAK{an:54}",
    ),
    ve(
        "plaid",
        "Plaid",
        "access token",
        "access-(?:sandbox|development|production)-{hex:8}-{hex:4}-{hex:4}-{hex:4}-{hex:12}",
        "access-production-{hex:8}-{hex:4}-{hex:4}-{hex:4}-{hex:12}",
    ),
    v(
        "shopify_access",
        "Shopify",
        "Admin API access token",
        "shpat_{Hex:32}",
    ),
    v(
        "shopify_custom",
        "Shopify",
        "custom app access token",
        "shpca_{Hex:32}",
    ),
    v(
        "shopify_private",
        "Shopify",
        "private app password",
        "shppa_{Hex:32}",
    ),
    v(
        "shopify_secret",
        "Shopify",
        "shared secret",
        "shpss_{Hex:32}",
    ),
    ve(
        "woocommerce",
        "WooCommerce",
        "REST API consumer key or secret",
        "c[ks]_{hex:40}",
        "ck_{hex:40}",
    ),
    v(
        "adobe_client_secret",
        "Adobe",
        "client secret",
        "p8e-{an:32}",
    ),
    ve(
        "coinbase_cdp",
        "Coinbase",
        "CDP API key name",
        "organizations/{hex:8}-{hex:4}-{hex:4}-{hex:4}-{hex:12}/apiKeys/{hex:8}-{hex:4}-{hex:4}-{hex:4}-{hex:12}",
        "organizations/{hex:8}-{hex:4}-{hex:4}-{hex:4}-{hex:12}/apiKeys/{hex:8}-{hex:4}-{hex:4}-{hex:4}-{hex:12}",
    ),
    // E-mail, messaging and marketing.
    ve(
        "sendgrid",
        "Twilio SendGrid",
        "API key",
        "SG\\.{b64u:22}\\.{b64u:43}",
        "SG.{b64u:22}.{b64u:43}",
    ),
    v("twilio_api_key", "Twilio", "API key SID", "SK{hex:32}"),
    v("mailgun", "Mailgun", "private API key", "key-{hex:32}"),
    ve(
        "mailchimp",
        "Mailchimp",
        "API key",
        "{hex:32}-us{d:1,2}",
        "{hex:32}-us21",
    ),
    ve(
        "brevo",
        "Brevo (Sendinblue)",
        "API or SMTP key",
        "x(?:keysib|smtpsib)-{hex:64}-{an:16}",
        "xkeysib-{hex:64}-{an:16}",
    ),
    v("mailersend", "MailerSend", "API token", "mlsn\\.{hex:64}"),
    ve(
        "resend",
        "Resend",
        "API key",
        "re_{an:8}_{an:24,32}",
        "re_{an:8}_{an:24}",
    ),
    v(
        "segment",
        "Twilio Segment",
        "public API token",
        "sgp_{an:64}",
    ),
    ve(
        "sourcegraph",
        "Sourcegraph",
        "access token",
        "sgp_(?:{hex:16}_)?{hex:40}",
        "sgp_{hex:16}_{hex:40}",
    ),
    ve(
        "facebook",
        "Meta",
        "Facebook / Instagram access token",
        "EAA[A-Za-z0-9]{100,300}",
        "EAAB{an:120}",
    ),
    ve(
        "twitter_bearer",
        "X (Twitter)",
        "app bearer token",
        "A{21}{an:20,40}(?:[+/]|%2[0-9A-F]){an:40,60}",
        "AAAAAAAAAAAAAAAAAAAAA{an:30}+{an:50}",
    ),
    v("zoho", "Zoho", "OAuth token", "1000\\.{hex:32}\\.{hex:32}"),
    ve(
        "amazon_mws",
        "Amazon",
        "MWS auth token",
        "amzn\\.mws\\.{hex:8}-{hex:4}-{hex:4}-{hex:4}-{hex:12}",
        "amzn.mws.{hex:8}-{hex:4}-{hex:4}-{hex:4}-{hex:12}",
    ),
    ve(
        "launchdarkly",
        "LaunchDarkly",
        "API, SDK or mobile key",
        "(?:api|sdk|mob)-{hex:8}-{hex:4}-{hex:4}-{hex:4}-{hex:12}",
        "sdk-{hex:8}-{hex:4}-{hex:4}-{hex:4}-{hex:12}",
    ),
    v("scalingo", "Scalingo", "API token", "tk-us-{b64u:48}"),
    v(
        "yandex_api_key",
        "Yandex",
        "Cloud API key",
        "AQVN{b64u:35,38}",
    ),
    v("yandex_oauth", "Yandex", "OAuth token", "y[0-3]_{b64u:55}"),
    // Models and AI services.
    ve(
        "anthropic",
        "Anthropic",
        "API or admin key",
        "sk-ant-(?:api|admin|sid)[0-9]{2}-{b64u:20,120}",
        "sk-ant-api03-{b64u:93}AA",
    ),
    v("openrouter", "OpenRouter", "API key", "sk-or-v1-{hex:64}"),
    v(
        "openai_legacy",
        "OpenAI",
        "legacy user key",
        "sk-{an:20}T3BlbkFJ{an:20}",
    ),
    ve(
        "openai",
        "OpenAI",
        "project, service-account, admin or user key (and `sk-` keys of compatible APIs)",
        "sk-(?:(?:proj|svcacct|admin|None)-)?{b64u:20,250}",
        "sk-proj-{b64u:156}",
    ),
    ve(
        "huggingface",
        "Hugging Face",
        "user access token",
        "hf_{an:30,40}",
        "hf_{an:34}",
    ),
    v(
        "huggingface_org",
        "Hugging Face",
        "organization API token",
        "api_org_{an:30,40}",
    ),
    v("groq", "Groq", "API key", "gsk_{an:52}"),
    v(
        "nvidia",
        "NVIDIA",
        "API key (NGC, API catalog)",
        "nvapi-{b64u:64}",
    ),
    v("replicate", "Replicate", "API token", "r8_{an:37}"),
    v("perplexity", "Perplexity", "API key", "pplx-{an:48}"),
    v("xai", "xAI", "API key", "xai-{an:80}"),
    ve(
        "langsmith",
        "LangChain",
        "LangSmith API key",
        "lsv2_(?:pt|sk)_{hex:32}_{hex:10}",
        "lsv2_pt_{hex:32}_{hex:10}",
    ),
    v("fireworks", "Fireworks AI", "API key", "fw_{an:24}"),
    ve(
        "mapbox_secret",
        "Mapbox",
        "secret access token",
        "sk\\.eyJ{b64u:40,300}\\.{b64u:20,40}",
        "sk.eyJ{b64u:60}.{b64u:22}",
    ),
    ve(
        "dropbox_short_lived",
        "Dropbox",
        "short-lived access token",
        "sl\\.(?:u\\.)?{b64u:130,200}",
        "sl.{b64u:138}",
    ),
    ve(
        "tavily",
        "Tavily",
        "API key",
        "tvly-(?:dev-|prod-)?{an:32}",
        "tvly-dev-{an:32}",
    ),
    v(
        "pinecone",
        "Pinecone",
        "API key",
        "pcsk_{an:5,6}_{an:50,70}",
    ),
    v("elevenlabs", "ElevenLabs", "API key", "sk_{hex:48}"),
    v("browserbase", "Browserbase", "API key", "bb_live_{b64u:27}"),
    v("e2b", "E2B", "API key", "e2b_{hex:40}"),
    v("firecrawl", "Firecrawl", "API key", "fc-{hex:32}"),
    v("jina", "Jina AI", "API key", "jina_{hex:32}{b64u:28}"),
    // Keyed by name: formats without a prefix of their own, found next to their vendor's name.
    random(ve(
        "datadog",
        "Datadog",
        "API or application key",
        "(?i:datadog|dd)[_-]?(?i:api|app|application)[_-]?(?i:key)[\"']?\\s{0,3}[:=]\\s{0,3}[\"']?{hex:32,40}",
        "DD_API_KEY={hex:32}",
    )),
    random(ve(
        "heroku_legacy",
        "Heroku",
        "API key (legacy UUID)",
        "(?i:heroku)[A-Za-z0-9_ .-]{0,20}[:=]\\s{0,3}[\"']?{hex:8}-{hex:4}-{hex:4}-{hex:4}-{hex:12}",
        "HEROKU_API_KEY={hex:8}-{hex:4}-{hex:4}-{hex:4}-{hex:12}",
    )),
    random(ve(
        "okta",
        "Okta",
        "API token",
        "(?i:okta)[A-Za-z0-9_ .-]{0,20}[:=]\\s{0,3}[\"']?00{b64u:40}",
        "OKTA_API_TOKEN=00{b64u:40}",
    )),
    random(ve(
        "cloudflare_api",
        "Cloudflare",
        "API token or global key",
        "(?i:cloudflare|cf)[_-]?(?i:api)?[_-]?(?i:token|key)[\"']?\\s{0,3}[:=]\\s{0,3}[\"']?{b64u:37,40}",
        "CLOUDFLARE_API_TOKEN={b64u:40}",
    )),
    random(ve(
        "twilio_auth",
        "Twilio",
        "auth token",
        "(?i:twilio)[A-Za-z0-9_ .-]{0,20}[:=]\\s{0,3}[\"']?{hex:32}",
        "TWILIO_AUTH_TOKEN={hex:32}",
    )),
    random(ve(
        "algolia",
        "Algolia",
        "admin API key",
        "(?i:algolia)[A-Za-z0-9_ .-]{0,20}[:=]\\s{0,3}[\"']?{hex:32}",
        "ALGOLIA_ADMIN_KEY={hex:32}",
    )),
    random(ve(
        "wandb",
        "Weights & Biases",
        "API key",
        "(?i:wandb)[A-Za-z0-9_ .-]{0,20}[:=]\\s{0,3}[\"']?{hex:40}",
        "WANDB_API_KEY={hex:40}",
    )),
    random(ve(
        "cohere",
        "Cohere",
        "API key",
        "(?i:cohere|co)[_-]?(?i:api)[_-]?(?i:key)[\"']?\\s{0,3}[:=]\\s{0,3}[\"']?{an:40}",
        "COHERE_API_KEY={an:40}",
    )),
    // Formats gitleaks' rules describe (`clickhouse-cloud-api-secret-key`, `grafana-api-key`,
    // `intra42-client-secret`, `maxmind-license-key`,
    // `gitlab-session-cookie`), each as the vendor issues it: ClickHouse Cloud API secrets
    // start `4b1d`; Grafana's legacy API keys are the base64 of `{"k":…` (`eyJrIjoi`);
    // 42's API secrets `s-s4t2ud-` or `s-s4t2af-` and 64 hex
    // digits; MaxMind license keys end `_mmk`; GitLab's session cookie holds 32 letters and
    // digits.
    v(
        "clickhouse_cloud",
        "ClickHouse",
        "Cloud API secret",
        "4b1d{an:38}",
    ),
    v(
        "grafana_api_key",
        "Grafana",
        "legacy API key",
        "eyJrIjoi{b64:70,400}={0,3}",
    ),
    ve(
        "intra42",
        "42",
        "API client secret",
        "s-s4t2(?:ud|af)-{hex:64}",
        "s-s4t2ud-{hex:64}",
    ),
    v("maxmind", "MaxMind", "license key", "{an:6}_{an:29}_mmk"),
    v(
        "gitlab_session",
        "GitLab",
        "session cookie",
        "_gitlab_session={lan:32}",
    ),
    // SettleMint's personal, application and service access tokens (`sm_pat_`, `sm_aat_`,
    // `sm_sat_`, then sixteen letters and digits).
    ve(
        "settlemint",
        "SettleMint",
        "access token",
        "sm_(?:pat|aat|sat)_{an:16}",
        "sm_pat_{an:16}",
    ),
    random(ve(
        "mistral",
        "Mistral AI",
        "API key",
        "(?i:mistral)[A-Za-z0-9_ .-]{0,20}[:=]\\s{0,3}[\"']?{an:32}",
        "MISTRAL_API_KEY={an:32}",
    )),
    random(ve(
        "deepgram",
        "Deepgram",
        "API key",
        "(?i:deepgram)[A-Za-z0-9_ .-]{0,20}[:=]\\s{0,3}[\"']?{hex:40}",
        "DEEPGRAM_API_KEY={hex:40}",
    )),
    random(ve(
        "snyk",
        "Snyk",
        "API token",
        "(?i:snyk)[A-Za-z0-9_ .-]{0,20}[:=]\\s{0,3}[\"']?{hex:8}-{hex:4}-{hex:4}-{hex:4}-{hex:12}",
        "SNYK_TOKEN={hex:8}-{hex:4}-{hex:4}-{hex:4}-{hex:12}",
    )),
    random(ve(
        "pagerduty",
        "PagerDuty",
        "API key",
        "(?i:pagerduty|pd)[_-]?(?i:api)?[_-]?(?i:key|token)[\"']?\\s{0,3}[:=]\\s{0,3}[\"']?[A-Za-z0-9_+-]{20}",
        "PAGERDUTY_API_KEY={b64u:20}",
    )),
];
