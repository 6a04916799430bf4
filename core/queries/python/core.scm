; Core logic: tokens that overlap these nodes carry the item's logic.
; Identifiers (names, calls, attributes), literals and operators. Conditions and calls are made
; of these, so they are covered without a pattern of their own.
(identifier) @core
; String contents: the `without_wording` core leaves out the long ones (messages, not logic).
(string_content) @string_content
[(integer) (float) (string) (true) (false) (none)] @core
[
  "+" "-" "*" "/" "//" "%" "**" "@" "<<" ">>" "&" "|" "^" "~"
  "==" "!=" "<" "<=" ">" ">=" "<>"
  "and" "or" "not" "in" "is" "is not" "not in"
  "=" ":=" "+=" "-=" "*=" "/=" "//=" "%=" "**=" "@=" "<<=" ">>=" "&=" "|=" "^="
] @core
