//! `codeblock`: select the code blocks worth supervising, and preview the masks.

#[global_allocator]
static ALLOCATOR: codeblock::Allocator = codeblock::Allocator;

fn main() -> anyhow::Result<()> {
    codeblock::main()
}
