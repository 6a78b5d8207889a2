"""SQL text: quoting, declared types, canonical expressions and DDL splitting.

This is the only module that uses sqlglot. Expressions (defaults, CHECKs,
generated columns, index keys and WHERE clauses) are parsed into trees and
printed back in one canonical spelling, so that two spellings of the same
expression compare equal. CREATE TABLE statements are split into column
definitions and table constraints with sqlglot's tokenizer, which copes with
every clause SQLite accepts; only the expressions inside are parsed as trees.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache

import sqlglot
from sqlglot import exp
from sqlglot.dialects.sqlite import SQLite
from sqlglot.errors import SqlglotError
from sqlglot.tokens import Token, TokenType

from rebuilder.names import fold, literal, quote

_DIALECT = SQLite()


def tokenize(sql: str) -> list[Token]:
    """Split SQL into sqlglot tokens, each knowing its span in ``sql``."""
    return _DIALECT.tokenize(sql)


def canonical_type(declared: str) -> str:
    """Return a declared type in canonical spelling: ``varchar( 10 )`` -> ``VARCHAR(10)``."""
    if not declared.strip():
        return ""
    parts: list[str] = []
    for token in tokenize(declared):
        text = token.text.upper() if token.token_type != TokenType.STRING else token.text
        if parts and text not in ("(", ")", ",") and parts[-1] not in ("(", ","):
            parts.append(" ")
        parts.append(text)
    return "".join(parts)


def affinity(declared: str) -> str:
    """Return SQLite's column affinity for a declared type (datatype3.html §3.1)."""
    upper = declared.upper()
    if "INT" in upper:
        return "INTEGER"
    if any(word in upper for word in ("CHAR", "CLOB", "TEXT")):
        return "TEXT"
    if "BLOB" in upper or not upper.strip():
        return "BLOB"
    if any(word in upper for word in ("REAL", "FLOA", "DOUB")):
        return "REAL"
    return "NUMERIC"


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
        tree = sqlglot.parse_one(sql, read=_DIALECT)
    except SqlglotError:
        return _canonical_tokens(sql)
    while isinstance(tree, exp.Paren):
        tree = tree.this
    return tree.transform(_canonical_node).sql(dialect=_DIALECT)


def _canonical_tokens(sql: str) -> str:
    out: list[str] = []
    for token in tokenize(sql):
        if token.token_type == TokenType.STRING:
            out.append(literal(token.text))
        elif token.token_type in (TokenType.IDENTIFIER, TokenType.VAR):
            out.append(quote(fold(token.text)))
        else:
            out.append(token.text.upper())
    return " ".join(out)


def rename_columns(sql: str, mapping: dict[str, str]) -> str:
    """Rewrite column references in an expression, as a parsed tree.

    Args:
        sql: An expression as written.
        mapping: Folded old column names to new names.

    Returns:
        The expression with the columns renamed, printed by sqlglot.
    """
    tree = sqlglot.parse_one(sql, read=_DIALECT)

    def swap(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Column) and fold(node.name) in mapping:
            return exp.column(exp.to_identifier(mapping[fold(node.name)], quoted=True))
        return node

    return tree.transform(swap).sql(dialect=_DIALECT)


# --- splitting CREATE statements -------------------------------------------


@dataclass(frozen=True)
class ColumnDDL:
    """What a column definition's text says beyond the PRAGMAs.

    Attributes:
        name: The column name.
        sql: The whole definition as written.
        collate: The COLLATE name, upper-cased, if any.
        checks: CHECK expressions as written.
        generated: The generating expression as written, if any.
        stored: Whether a generated column is STORED.
        autoincrement: Whether AUTOINCREMENT appears.
    """

    name: str
    sql: str
    collate: str | None = None
    checks: tuple[str, ...] = ()
    generated: str | None = None
    stored: bool = False
    autoincrement: bool = False


@dataclass(frozen=True)
class TableDDL:
    """A CREATE TABLE statement split into its parts.

    Attributes:
        name_start: Where the table name starts in the statement.
        body_start: Where the body's opening parenthesis is.
        columns: The column definitions.
        checks: Table-level CHECKs as ``(name, expression)`` pairs.
    """

    name_start: int
    body_start: int
    columns: tuple[ColumnDDL, ...]
    checks: tuple[tuple[str | None, str], ...] = field(default=())


def _groups(tokens: list[Token], start: int) -> Iterator[list[Token]]:
    """Yield the comma-separated items of the parenthesised list at ``start``."""
    depth, item = 0, []
    for token in tokens[start + 1 :]:
        kind = token.token_type
        if kind == TokenType.L_PAREN:
            depth += 1
        elif kind == TokenType.R_PAREN:
            if depth == 0:
                break
            depth -= 1
        elif kind == TokenType.COMMA and depth == 0:
            yield item
            item = []
            continue
        item.append(token)
    if item:
        yield item


def _paren_text(sql: str, tokens: list[Token], i: int) -> tuple[str, int]:
    """Return the text inside the parentheses opening at ``tokens[i]`` and the index after."""
    depth = 0
    for j in range(i, len(tokens)):
        kind = tokens[j].token_type
        depth += kind == TokenType.L_PAREN
        depth -= kind == TokenType.R_PAREN
        if depth == 0:
            return sql[tokens[i].end + 1 : tokens[j].start], j + 1
    return sql[tokens[i].end + 1 :], len(tokens)


def _word(token: Token) -> str:
    return "" if token.token_type == TokenType.IDENTIFIER else token.text.upper()


def _column_ddl(sql: str, tokens: list[Token]) -> ColumnDDL:
    collate, generated, stored, autoincrement = None, None, False, False
    checks: list[str] = []
    i = 1
    while i < len(tokens):
        word = _word(tokens[i])
        opens = i + 1 < len(tokens) and tokens[i + 1].token_type == TokenType.L_PAREN
        if word == "COLLATE" and i + 1 < len(tokens):
            collate = tokens[i + 1].text.upper()
        elif word == "AUTOINCREMENT":
            autoincrement = True
        elif word == "CHECK" and opens:
            text, i = _paren_text(sql, tokens, i + 1)
            checks.append(text)
            continue
        elif word == "AS" and opens:
            generated, i = _paren_text(sql, tokens, i + 1)
            stored = i < len(tokens) and _word(tokens[i]) == "STORED"
            continue
        i += 1
    return ColumnDDL(
        name=tokens[0].text,
        sql=sql[tokens[0].start : tokens[-1].end + 1],
        collate=collate,
        checks=tuple(checks),
        generated=generated,
        stored=stored,
        autoincrement=autoincrement,
    )


def _table_check(sql: str, tokens: list[Token]) -> tuple[str | None, str] | None:
    name = None
    if _word(tokens[0]) == "CONSTRAINT" and len(tokens) > 2:
        name, tokens = tokens[1].text, tokens[2:]
    if _word(tokens[0]) != "CHECK" or len(tokens) < 2:
        return None
    return name, _paren_text(sql, tokens, 1)[0]


def split_create_table(sql: str) -> TableDDL:
    """Split a CREATE TABLE statement into columns and table-level CHECKs.

    Args:
        sql: The statement as stored in ``sqlite_schema``.

    Returns:
        The statement's parts, with spans into ``sql``.

    Raises:
        ValueError: If the statement has no parenthesised body.
    """
    tokens = tokenize(sql)
    body = next((i for i, t in enumerate(tokens) if t.token_type == TokenType.L_PAREN), None)
    if body is None or body < 3:
        raise ValueError("not a CREATE TABLE statement with a column list")
    columns: list[ColumnDDL] = []
    checks: list[tuple[str | None, str]] = []
    for item in _groups(tokens, body):
        head = _word(item[0])
        if head in ("CONSTRAINT", "PRIMARY", "UNIQUE", "CHECK", "FOREIGN"):
            found = _table_check(sql, item)
            if found is not None:
                checks.append(found)
        else:
            columns.append(_column_ddl(sql, item))
    return TableDDL(
        name_start=tokens[body - 1].start,
        body_start=tokens[body].start,
        columns=tuple(columns),
        checks=tuple(checks),
    )


def rename_table_in_ddl(sql: str, new_name: str) -> str:
    """Return a CREATE TABLE statement for the same body under another name.

    The name is replaced at its token position, so the body, with its
    self-references to the final name, stays exactly as written.
    """
    parts = split_create_table(sql)
    return f"CREATE TABLE main.{quote(new_name)} {sql[parts.body_start :]}"


@dataclass(frozen=True)
class IndexDDL:
    """A CREATE INDEX statement's keys and WHERE clause, as written."""

    keys: tuple[str, ...]
    where: str | None


def split_create_index(sql: str) -> IndexDDL:
    """Split a CREATE INDEX statement into its key expressions and WHERE clause.

    Each key is returned without its trailing COLLATE or ASC/DESC, which the
    PRAGMAs report.
    """
    tokens = tokenize(sql)
    body = next(i for i, t in enumerate(tokens) if t.token_type == TokenType.L_PAREN)
    keys = tuple(_strip_key_suffix(sql, item) for item in _groups(tokens, body))
    where_at = next(
        (
            i
            for i, t in enumerate(tokens)
            if i > body and t.token_type == TokenType.WHERE and _depth_before(tokens, i) == 0
        ),
        None,
    )
    where = sql[tokens[where_at].end + 1 :].strip() if where_at is not None else None
    return IndexDDL(keys=keys, where=where)


def _depth_before(tokens: list[Token], index: int) -> int:
    depth = 0
    for token in tokens[:index]:
        depth += token.token_type == TokenType.L_PAREN
        depth -= token.token_type == TokenType.R_PAREN
    return depth


def _strip_key_suffix(sql: str, item: list[Token]) -> str:
    end = len(item)
    while end > 1 and _word(item[end - 1]) in ("ASC", "DESC"):
        end -= 1
    if end > 2 and _word(item[end - 2]) == "COLLATE":
        end -= 2
    return sql[item[0].start : item[end - 1].end + 1]


def is_column_ref(sql: str) -> bool:
    """Whether an index key expression is a bare column name."""
    tokens = tokenize(sql)
    return len(tokens) == 1 and tokens[0].token_type in (TokenType.IDENTIFIER, TokenType.VAR)


def mentions(sql: str, name: str) -> bool:
    """Whether ``sql`` mentions the identifier ``name`` anywhere (ASCII case-folded)."""
    key = fold(name)
    return any(fold(t.text) == key for t in tokenize(sql) if t.token_type != TokenType.STRING)


def qualify_index(sql: str) -> str:
    """Return a CREATE INDEX statement with its index name qualified by ``main.``."""
    tokens = tokenize(sql)
    on = next(i for i, t in enumerate(tokens) if t.token_type == TokenType.ON)
    name = tokens[on - 1]
    if on >= 2 and tokens[on - 2].token_type == TokenType.DOT:
        return sql
    return f"{sql[: name.start]}main.{quote(name.text)}{sql[name.end + 1 :]}"


def column_names(sql: str) -> frozenset[str]:
    """The folded names of the columns an expression refers to."""
    try:
        tree = sqlglot.parse_one(sql, read=_DIALECT)
    except SqlglotError:
        return frozenset(fold(t.text) for t in tokenize(sql) if t.token_type == TokenType.IDENTIFIER)
    return frozenset(fold(c.name) for c in tree.find_all(exp.Column))


def is_constant(sql: str) -> bool:
    """Whether a DEFAULT is a constant SQLite's ``ADD COLUMN`` accepts (a literal, maybe signed)."""
    try:
        tree = sqlglot.parse_one(sql, read=_DIALECT)
    except SqlglotError:
        return False
    while isinstance(tree, (exp.Paren, exp.Neg)):
        tree = tree.this
    return isinstance(tree, (exp.Literal, exp.Null, exp.Boolean))


def retarget_index(sql: str, table: str) -> str:
    """Return a CREATE INDEX statement for the same index on another table.

    The table name after ``ON`` is replaced at its token position; the keys
    and the WHERE clause stay exactly as written.
    """
    tokens = tokenize(sql)
    on = next(i for i, t in enumerate(tokens) if t.token_type == TokenType.ON)
    end = on + 1
    while end + 1 < len(tokens) and tokens[end + 1].token_type == TokenType.DOT:
        end += 2
    return f"{sql[: tokens[on + 1].start]}{quote(table)}{sql[tokens[end].end + 1 :]}"


def trigger_event(sql: str) -> str:
    """Return ``INSERT``, ``UPDATE`` or ``DELETE``: what fires a CREATE TRIGGER statement."""
    for token in tokenize(sql):
        word = token.text.upper() if token.token_type != TokenType.IDENTIFIER else ""
        if word in ("INSERT", "UPDATE", "DELETE"):
            return word
        if word == "ON":
            break
    return "INSERT"


def substitute_columns(sql: str, values: dict[str, str]) -> str:
    """Replace column references in an expression by other expressions, as a parsed tree.

    Args:
        sql: An expression, e.g. a CHECK.
        values: Folded column names to the SQL that stands in for each.

    Returns:
        The expression with each column replaced (parenthesised), printed by sqlglot.
    """
    tree = sqlglot.parse_one(sql, read=_DIALECT)

    def swap(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Column) and fold(node.name) in values:
            return exp.Paren(this=sqlglot.parse_one(values[fold(node.name)], read=_DIALECT))
        return node

    return tree.transform(swap).sql(dialect=_DIALECT)
