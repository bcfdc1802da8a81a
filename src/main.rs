// The evaluation allocates many small CEL values across threads; mimalloc is markedly faster
// than the system allocator at that (see benches/evaluate.rs).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    s3audit::cli::main()
}
