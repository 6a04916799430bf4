; TypeScript: JavaScript's non-core logic (javascript/noncore.scm) and type-only imports.
(import_alias) @noncore
