//! moto (`pip install 'moto[server]'`): a third-party S3, IAM and STS server on a free loopback
//! port, stopped when dropped. `$VSYNC_MOTO_SERVER` names its `moto_server` (the test scripts
//! install it into .venv), else `moto_server` on PATH; without it the tests that need it fail.
//!
//! Signatures: moto checks none until told to (`authenticate_after`). From then on it does
//! what AWS does with a request: the access key must be an IAM user's or one that STS issued,
//! the SigV4 signature must verify with that key's secret, the session token must be the one
//! STS issued with it, and the key's role or user policies must allow the action. Shared by the
//! core's and the CLI's tests (`#[path]`).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Moto {
    child: Child,
    /// `http://127.0.0.1:<port>`: S3, IAM and STS at one endpoint.
    pub endpoint: String,
}

/// moto routes a request to a service by the credential scope of its `Authorization` header;
/// while it checks no signature, this placeholder is all the set-up requests need.
fn unchecked_authorization(service: &str) -> String {
    format!("Authorization: AWS4-HMAC-SHA256 Credential=setup/20260101/us-east-1/{service}/aws4_request, SignedHeaders=host, Signature=0")
}

impl Moto {
    pub fn start() -> Moto {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let server = std::env::var("VSYNC_MOTO_SERVER").unwrap_or_else(|_| "moto_server".into());
        let child = Command::new(&server)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{server} could not be started ({e}): pip install 'moto[server]'"));
        let mut moto = Moto { child, endpoint: format!("http://127.0.0.1:{port}") };
        // The event waited for: the port accepts connections (bounded: a server that died or
        // hangs fails the test within the bound instead of hanging it).
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Some(status) = moto.child.try_wait().unwrap() {
                panic!("moto_server exited ({status}) before it listened");
            }
            assert!(Instant::now() < deadline, "moto_server did not listen within 60 s");
            std::thread::sleep(Duration::from_millis(50));
        }
        moto
    }

    /// One request with curl (`args` after the URL's method and headers); the body of a 2xx
    /// answer, else a panic with moto's answer.
    fn curl(&self, method: &str, path: &str, args: &[&str]) -> String {
        let out = Command::new("curl")
            .args(["-sS", "--fail-with-body", "-X", method])
            .args(args)
            .arg(format!("{}{path}", self.endpoint))
            .output()
            .expect("curl runs");
        let body = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(out.status.success(), "moto: {method} {path}: {body}{}", String::from_utf8_lossy(&out.stderr));
        body
    }

    pub fn create_bucket(&self, bucket: &str) {
        self.curl("PUT", &format!("/{bucket}"), &["-H", &unchecked_authorization("s3")]);
    }

    /// An IAM role that web identity may assume, with `policy` as its inline policy; its ARN.
    pub fn create_role(&self, name: &str, policy: &str) -> String {
        let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::123456789012:oidc-provider/oidc.example"},"Action":"sts:AssumeRoleWithWebIdentity"}]}"#;
        let iam = |params: &[(&str, &str)]| {
            let mut args = vec!["-H".to_string(), unchecked_authorization("iam")];
            for (k, v) in [("Version", "2010-05-08")].iter().chain(params) {
                args.extend(["--data-urlencode".to_string(), format!("{k}={v}")]);
            }
            self.curl("POST", "/", &args.iter().map(String::as_str).collect::<Vec<_>>())
        };
        iam(&[("Action", "CreateRole"), ("RoleName", name), ("AssumeRolePolicyDocument", trust)]);
        iam(&[
            ("Action", "PutRolePolicy"),
            ("RoleName", name),
            ("PolicyName", "vsync-reader"),
            ("PolicyDocument", policy),
        ]);
        format!("arn:aws:iam::123456789012:role/{name}")
    }

    /// From the `n`-th next request on, moto authenticates and authorizes every request
    /// (`/moto-api/reset-auth`). `n = 1` leaves exactly one unchecked: STS's
    /// AssumeRoleWithWebIdentity, which AWS takes unsigned (its proof is the web identity
    /// token) but moto would check like any other call.
    pub fn authenticate_after(&self, n: u32) {
        self.curl("POST", "/moto-api/reset-auth", &["-H", "Content-Type: text/plain", "--data", &n.to_string()]);
    }

    /// The roles STS has issued credentials for, in order (moto's `/moto-api/data.json`).
    pub fn assumed_roles(&self) -> Vec<String> {
        let data: serde_json::Value = serde_json::from_str(&self.curl("GET", "/moto-api/data.json", &[])).unwrap();
        let roles = data["sts"]["AssumedRole"].as_array().cloned().unwrap_or_default();
        roles.iter().map(|r| r["role_arn"].as_str().unwrap_or_default().to_string()).collect()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The reader's IAM policy exactly as README.md's trust section shows it, for `bucket` and
/// `prefix`: the tests prove that the documented policy is enough, and no broader one is needed.
pub fn readme_reader_policy(bucket: &str, prefix: &str) -> String {
    let readme = include_str!("../../../README.md");
    let block = readme
        .split("```json\n")
        .skip(1)
        .map(|b| b.split("```").next().unwrap_or_default())
        .find(|b| b.contains("s3:GetObject"))
        .expect("README.md shows the reader's policy in a ```json block");
    block.replace("<bucket>", bucket).replace("<prefix>", prefix)
}
