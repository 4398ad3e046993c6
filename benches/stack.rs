//! The whole recommended stack behind the HTTP adapter, without sockets: what one MCP
//! `tools/call` costs the server with and without the airlock layers, in a session of
//! revision 2025-11-25 and as a stateless request of 2026-07-28, side by side.

#[path = "common/stack.rs"]
mod stack;

use std::hint::black_box;

use agent_airlock::adapters::http::HttpAdapter;
use criterion::{Criterion, criterion_group, criterion_main};
use stack::{adapter, open_session, request, request_2026, tools};
use tower::ServiceExt;

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let bare = {
        let router = tools();
        let catalog = router.catalog();
        HttpAdapter::new(router, catalog).into_router()
    };
    let servers = [
        ("bare", bare),
        ("no_audit", adapter(false)),
        ("full", adapter(true)),
    ];
    let mut group = c.benchmark_group("http_tools_call");
    for (name, app) in servers {
        let session = open_session(&rt, &app);
        // The answer is checked once, so a broken stack cannot pass for a fast one.
        let response = rt
            .block_on(app.clone().oneshot(request(&session)))
            .expect("response");
        assert_eq!(response.status(), 200, "{name}");
        group.bench_function(format!("{name}/2025-11-25"), |b| {
            b.iter(|| {
                let response = rt.block_on(app.clone().oneshot(request(&session)));
                black_box(response.expect("response"))
            })
        });
        let response = rt
            .block_on(app.clone().oneshot(request_2026()))
            .expect("response");
        assert_eq!(response.status(), 200, "{name} at 2026-07-28");
        let body = rt
            .block_on(axum::body::to_bytes(response.into_body(), 1 << 20))
            .expect("body");
        let body = String::from_utf8_lossy(&body);
        assert!(
            body.contains(r#""resultType":"complete""#),
            "{name}: {body}"
        );
        group.bench_function(format!("{name}/2026-07-28"), |b| {
            b.iter(|| {
                let response = rt.block_on(app.clone().oneshot(request_2026()));
                black_box(response.expect("response"))
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
