//! `codeblock`: select the code blocks worth supervising, and preview the masks.

// The pipeline allocates many small, short-lived vectors per record; glibc's allocator took a
// fifth of `select`'s time (perf, 10k pairs).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    codeblock::main()
}
