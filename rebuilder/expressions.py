"""SQL expressions as parsed trees: canonical spellings, column references, substitution.

Defaults, CHECKs, generated columns, index keys and WHERE clauses are parsed
with sqlglot and printed back in one canonical spelling, so that two spellings
of the same expression compare equal. With `rebuilder.ddl` (statements cut by
token position), this is one of the two modules that use sqlglot.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache

import sqlglot
from sqlglot import exp
from sqlglot.dialects.sqlite import SQLite
from sqlglot.errors import SqlglotError
from sqlglot.tokenizer_core import TokenType

from rebuilder.names import fold, literal, quote

DIALECT = SQLite()


@lru_cache(maxsize=4096)
def canonical_type(declared: str) -> str:
    """Return a declared type in canonical spelling: ``varchar( 10 )`` -> ``VARCHAR(10)`` (remembered)."""
    if not declared.strip():
        return ""
    parts: list[str] = []
    for token in DIALECT.tokenize(declared):
        text = token.text.upper() if token.token_type != TokenType.STRING else token.text
        if parts and text not in ("(", ")", ",") and parts[-1] not in ("(", ","):
            parts.append(" ")
        parts.append(text)
    return "".join(parts)


def _canonical_node(node: exp.Expression) -> exp.Expression:
    if isinstance(node, exp.Identifier):
        return exp.Identifier(this=fold(node.name), quoted=True)
    return node


@lru_cache(maxsize=4096)
def canonical_expr(sql: str) -> str:
    """Return an expression in canonical SQL, so equal meanings compare equal.

    Identifiers are folded and quoted, keywords and functions upper-cased,
    redundant outer parentheses removed. Text sqlglot cannot parse falls back
    to its token stream, still spelled canonically.

    Args:
        sql: An SQL expression as written.

    Returns:
        The canonical spelling.
    """
    try:
        tree = sqlglot.parse_one(sql, read=DIALECT)
    except SqlglotError:
        return _canonical_tokens(sql)
    while isinstance(tree, exp.Paren):
        tree = tree.this
    return str(tree.transform(_canonical_node).sql(dialect=DIALECT))


def _canonical_tokens(sql: str) -> str:
    out: list[str] = []
    for token in DIALECT.tokenize(sql):
        if token.token_type == TokenType.STRING:
            out.append(literal(token.text))
        elif token.token_type in (TokenType.IDENTIFIER, TokenType.VAR):
            out.append(quote(fold(token.text)))
        else:
            out.append(token.text.upper())
    return " ".join(out)


def substitute(sql: str, values: Mapping[str, str]) -> str:
    """Replace column references in an expression by other SQL, as a parsed tree.

    Renaming a column is substituting its quoted new name; a guard substitutes
    what a copy writes (a COALESCE, a default) for a column. A replacement that
    is not a bare column is parenthesised.

    Args:
        sql: An expression, e.g. a CHECK.
        values: Folded column names to the SQL that stands in for each.

    Returns:
        The expression with each column replaced, printed by sqlglot.

    Raises:
        SqlglotError: If sqlglot cannot parse the expression.
    """
    tree = sqlglot.parse_one(sql, read=DIALECT)

    def swap(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Column) and fold(node.name) in values:
            new = sqlglot.parse_one(values[fold(node.name)], read=DIALECT)
            return new if isinstance(new, exp.Column) else exp.Paren(this=new)
        return node

    return str(tree.transform(swap).sql(dialect=DIALECT))


def rename_columns(sql: str, mapping: Mapping[str, str]) -> str:
    """Rewrite column references by name: `substitute` with each new name quoted.

    Args:
        sql: An expression as written.
        mapping: Folded old column names to new names.
    """
    return substitute(sql, {old: quote(new) for old, new in mapping.items()})


def column_names(sql: str) -> frozenset[str]:
    """The folded names of the columns an expression refers to."""
    try:
        tree = sqlglot.parse_one(sql, read=DIALECT)
    except SqlglotError:
        tokens = DIALECT.tokenize(sql)
        return frozenset(fold(t.text) for t in tokens if t.token_type == TokenType.IDENTIFIER)
    return frozenset(fold(c.name) for c in tree.find_all(exp.Column))


def is_constant(sql: str) -> bool:
    """Whether a DEFAULT is a constant SQLite's ``ADD COLUMN`` accepts (a literal, maybe signed)."""
    try:
        tree = sqlglot.parse_one(sql, read=DIALECT)
    except SqlglotError:
        return False
    while isinstance(tree, (exp.Paren, exp.Neg)):
        tree = tree.this
    return isinstance(tree, (exp.Literal, exp.Null, exp.Boolean))


def mentions(sql: str, name: str) -> bool:
    """Whether ``sql`` mentions the identifier ``name`` anywhere (ASCII case-folded)."""
    key = fold(name)
    return any(fold(t.text) == key for t in DIALECT.tokenize(sql) if t.token_type != TokenType.STRING)
