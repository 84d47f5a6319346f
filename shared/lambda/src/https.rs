//! Outbound HTTPS on the TLS stack the AWS SDK already uses (rustls on aws-lc): the external
//! directory and CloudFormation's pre-signed response URLs. Plain HTTP only to loopback addresses
//! (the local stack and the tests).

use bytes::Bytes;
use http_body_util::Full;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

pub type HttpsClient = Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>;

/// A client trusting the system's roots, for HTTPS and (where `outbound_url` allowed it) HTTP.
pub fn client() -> Result<HttpsClient, String> {
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_native_roots()
        .map_err(|e| format!("TLS roots: {e}"))?
        .https_or_http()
        .enable_http1()
        .build();
    Ok(Client::builder(TokioExecutor::new()).build(connector))
}

/// `url` parsed, if it is https, or http to a loopback address; `what` names it in the error.
pub fn outbound_url(what: &str, url: &str) -> Result<hyper::Uri, String> {
    let url: hyper::Uri = url
        .parse()
        .map_err(|e| format!("{what} is not a URL: {e}"))?;
    let loopback = url.host().is_some_and(|host| {
        let host = host.trim_start_matches('[').trim_end_matches(']');
        host == "localhost"
            || host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    });
    match url.scheme_str() {
        Some("https") => Ok(url),
        Some("http") if loopback => Ok(url),
        _ => Err(format!("{what} must be https (http only on loopback)")),
    }
}
