fn main() -> std::process::ExitCode {
    s3audit::cli::main()
}
