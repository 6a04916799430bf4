; JavaScript's parameters (TypeScript's are in typescript/locals.scm).
(formal_parameters (identifier) @definition)
(formal_parameters (assignment_pattern left: (identifier) @definition))
(formal_parameters (rest_pattern (identifier) @definition))
