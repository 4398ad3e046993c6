//! The whole recommended stack behind the HTTP adapter, without sockets: what one MCP
//! `tools/call` costs the server with and without the airlock layers.

#[path = "common/stack.rs"]
mod stack;

use std::hint::black_box;

use agent_airlock::adapters::http::HttpAdapter;
use criterion::{Criterion, criterion_group, criterion_main};
use stack::{adapter, open_session, request, tools};
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
        group.bench_function(name, |b| {
            b.iter(|| {
                let response = rt.block_on(app.clone().oneshot(request(&session)));
                black_box(response.expect("response"))
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
