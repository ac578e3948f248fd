//! The closed vocabularies of our labels. A label value is one of these words or a
//! `&'static str` from a closed list of another crate, never a SHA, an id or text from a
//! request, so every family has a bounded number of series and each can be created (at zero)
//! before its first event.

macro_rules! label_words {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $($(#[$variant_meta:meta])* $variant:ident = $word:literal,)*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$variant_meta])* $variant,)*
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),*];

            /// The label value.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $word,)*
                }
            }
        }
    };
}

label_words! {
    /// Which part of GitHub's REST API a request went to.
    pub enum Endpoint {
        /// `GET /app`.
        App = "app",
        /// `POST /app/installations/{id}/access_tokens` and the installation lookups.
        InstallationToken = "installation_token",
        /// `/repos/{o}/{r}/deployments`.
        Deployments = "deployments",
        /// `/repos/{o}/{r}/deployments/{id}/statuses`.
        DeploymentStatuses = "deployment_statuses",
        /// `/repos/{o}/{r}/environments/{name}`.
        Environments = "environments",
        /// `/repos/{o}/{r}/pulls/{n}`.
        Pulls = "pulls",
        /// `/repos/{o}/{r}/pulls/{n}/files`.
        PullFiles = "pull_files",
        /// `/repos/{o}/{r}/contents/{path}`.
        Contents = "contents",
        /// `/repos/{o}/{r}/issues/{n}/comments` and `/issues/comments/{id}`.
        IssueComments = "issue_comments",
        /// `/repos/{o}/{r}/check-runs` and `/commits/{sha}/check-runs`.
        CheckRuns = "check_runs",
        /// `/repos/{o}/{r}` and anything else.
        Other = "other",
    }
}

label_words! {
    /// An HTTP method we send to GitHub.
    pub enum Method {
        /// GET.
        Get = "GET",
        /// POST.
        Post = "POST",
        /// PATCH.
        Patch = "PATCH",
        /// PUT.
        Put = "PUT",
        /// DELETE.
        Delete = "DELETE",
        /// Any other.
        Other = "OTHER",
    }
}

impl Method {
    /// The label of an HTTP method.
    pub fn of(method: &str) -> Self {
        match method {
            "GET" => Self::Get,
            "POST" => Self::Post,
            "PATCH" => Self::Patch,
            "PUT" => Self::Put,
            "DELETE" => Self::Delete,
            _ => Self::Other,
        }
    }
}

label_words! {
    /// How GitHub answered one HTTP exchange.
    pub enum StatusClass {
        /// 1xx (never expected).
        Informational = "1xx",
        /// 2xx.
        Success = "2xx",
        /// 3xx.
        Redirection = "3xx",
        /// 4xx, rate limits included.
        ClientError = "4xx",
        /// 5xx.
        ServerError = "5xx",
        /// No answer: connection refused or reset, timeout, unreadable body.
        Error = "error",
    }
}

impl StatusClass {
    /// The class of a status code.
    pub fn of(status: u16) -> Self {
        match status {
            100..=199 => Self::Informational,
            200..=299 => Self::Success,
            300..=399 => Self::Redirection,
            400..=499 => Self::ClientError,
            _ => Self::ServerError,
        }
    }
}

label_words! {
    /// Why a GitHub request was tried again.
    pub enum RetryReason {
        /// A primary or secondary rate limit.
        RateLimit = "rate_limit",
        /// A 5xx answer.
        ServerError = "server_error",
        /// No answer (connection, timeout).
        Transport = "transport",
        /// A 401 to an installation token, which was minted again.
        TokenRejected = "token_rejected",
    }
}

label_words! {
    /// GitHub's two kinds of rate limit.
    pub enum RateLimitKind {
        /// The hourly request quota (`x-ratelimit-remaining: 0`).
        Primary = "primary",
        /// The abuse-protection limit (`retry-after`, or a 403/429 saying so).
        Secondary = "secondary",
    }
}

label_words! {
    /// Whether something worked.
    pub enum Outcome {
        /// It did.
        Success = "success",
        /// It did not.
        Failure = "failure",
    }
}

label_words! {
    /// Why an activity attempt failed, as on-call would sort it.
    pub enum ErrorType {
        /// GitHub's rate limit.
        RateLimit = "rate_limit",
        /// GitHub answered 5xx.
        ServerError = "server_error",
        /// GitHub did not answer.
        Unavailable = "unavailable",
        /// GitHub refused the credentials (401, or 403 for a missing permission).
        Authentication = "authentication",
        /// GitHub refused the request itself (404, 422, …).
        Validation = "validation",
        /// Anything else.
        Unexpected = "unexpected",
    }
}

label_words! {
    /// The two pull-request checks.
    pub enum PrCheck {
        /// The plugin-update validation (changed files, schemas).
        PluginUpdateValidation = "plugin_update_validation",
        /// The version validation (version file against the plugin manifest).
        VersionValidation = "version_validation",
    }
}

label_words! {
    /// A check run's conclusion.
    pub enum Conclusion {
        /// Passed.
        Success = "success",
        /// Failed.
        Failure = "failure",
        /// Nothing to judge.
        Neutral = "neutral",
    }
}

label_words! {
    /// Which GitHub event a webhook delivery carried.
    pub enum WebhookEvent {
        /// `pull_request`.
        PullRequest = "pull_request",
        /// `ping`.
        Ping = "ping",
        /// `deployment`: a deployment was created.
        Deployment = "deployment",
        /// `deployment_status`: a deployment status was created.
        DeploymentStatus = "deployment_status",
        /// Any other, or none.
        Other = "other",
    }
}

label_words! {
    /// What the server did with a webhook delivery.
    pub enum WebhookOutcome {
        /// The checks, a closed pull request's clean-up, or the watcher of a deployment
        /// created by others were started (or were already running and were told of this
        /// delivery).
        Started = "started",
        /// Some checks were started, some could not be.
        Partial = "partial",
        /// Temporal was unavailable: GitHub is asked to redeliver.
        Unavailable = "unavailable",
        /// Answered and ignored: an event or action that starts nothing, or checks disabled.
        Ignored = "ignored",
        /// A `ping`, answered.
        Pong = "pong",
        /// Refused: the signature was missing, malformed or wrong, or no secret is set.
        Unauthorized = "unauthorized",
        /// Refused: the body was over `webhook.max_body_bytes`.
        TooLarge = "too_large",
        /// Refused for now: too many bodies were being verified at once.
        Busy = "busy",
        /// Refused: the body was not a delivery we can read.
        Invalid = "invalid",
    }
}

label_words! {
    /// Why a webhook delivery's signature did not verify.
    pub enum SignatureFailure {
        /// No secret is configured, so nothing can verify.
        NoSecret = "no_secret",
        /// No `X-Hub-Signature-256` header.
        Missing = "missing",
        /// The header is not `sha256=` and 64 hex digits.
        Malformed = "malformed",
        /// No configured secret signs this body so.
        Mismatch = "mismatch",
    }
}

label_words! {
    /// How a sign-in to the board ended.
    pub enum SignIn {
        /// A valid token: the session cookie was set.
        Accepted = "accepted",
        /// A token that is not one of the server's.
        Refused = "refused",
        /// Refused unread: too many failures in the last minute.
        Throttled = "throttled",
        /// Refused unread: the form was posted from another origin.
        CrossOrigin = "cross_origin",
    }
}

label_words! {
    /// What the board read from Temporal's visibility.
    pub enum BoardRead {
        /// A refresh: the deployments changed since the last read, and a count of the
        /// running ones.
        Changed = "changed",
        /// A refresh of every running deployment and those closed since the last read: a
        /// worker older than revision 4 polls, or the running count differed.
        Running = "running",
        /// The whole window: a server's first look, or a window check that differed (before
        /// revision 4: every `board.rebuild_interval`).
        Window = "window",
        /// A window check: the window's closed deployments counted.
        WindowCheck = "window_check",
    }
}

label_words! {
    /// Which command the process runs.
    pub enum Process {
        /// `gdt worker`.
        Worker = "worker",
        /// `gdt serve`.
        Serve = "serve",
        /// `gdt dev`: both.
        Dev = "dev",
    }
}
