//! `codeblock`: select the code blocks worth supervising, and preview the masks.

fn main() -> anyhow::Result<()> {
    codeblock::main()
}
