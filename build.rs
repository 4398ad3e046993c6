//! Compiles `proto/airlock.proto` for the gRPC adapter (feature `tonic`), with `protox`:
//! no system `protoc` needed.

fn main() {
    println!("cargo::rerun-if-changed=proto/airlock.proto");
    #[cfg(feature = "tonic")]
    grpc();
}

#[cfg(feature = "tonic")]
fn grpc() {
    let fds = protox::compile(["proto/airlock.proto"], ["proto"]).expect("airlock.proto compiles");
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_fds(fds)
        .expect("the gRPC code generates");
}
