"""CREATE statements cut by token position: split, renamed, retargeted, never re-printed.

SQLite stores each CREATE statement as written. This module splits them into
their parts with sqlglot's tokenizer, which copes with every clause SQLite
accepts, and edits them at token positions so that everything else stays
exactly as written. Expressions inside are handled as trees by
`rebuilder.expressions`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from sqlglot.tokenizer_core import Token, TokenType

from rebuilder.expressions import DIALECT
from rebuilder.names import fold, quote


def tokenize(sql: str) -> list[Token]:
    """Split SQL into sqlglot tokens, each knowing its span in ``sql``."""
    return list(DIALECT.tokenize(sql))


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
    depth, item = 0, list[Token]()
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


_CONSTRAINT_HEADS = ("CONSTRAINT", "PRIMARY", "UNIQUE", "CHECK", "FOREIGN")
"""The words that open a table constraint rather than a column definition."""


PARSED = 4096
"""How many distinct statements each parser remembers: both sides of a schema of a thousand tables."""


@lru_cache(maxsize=PARSED)
def split_create_table(sql: str) -> TableDDL:
    """Split a CREATE TABLE statement into columns and table-level CHECKs.

    Pure, and remembered by text: a statement stored exactly as the models
    compile it is split once for both sides.

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
        if head in _CONSTRAINT_HEADS:
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


def reorder_columns(sql: str, order: Sequence[str]) -> str:
    """Return a CREATE TABLE statement with its column definitions in another order.

    Each definition moves whole, exactly as written; the table constraints, the
    text between the items and everything after the body stay where they are.

    Args:
        sql: The statement.
        order: Every column's folded name, in the order wanted.

    Raises:
        ValueError: If ``order`` does not name exactly the statement's columns.
    """
    tokens = tokenize(sql)
    body = next((i for i, t in enumerate(tokens) if t.token_type == TokenType.L_PAREN), None)
    if body is None:
        raise ValueError("not a CREATE TABLE statement with a column list")
    # sqlglot reads "PRIMARY KEY" and "FOREIGN KEY" as one token each.
    items = [g for g in _groups(tokens, body) if _word(g[0]).split(" ")[0] not in _CONSTRAINT_HEADS]
    spans = [(g[0].start, g[-1].end + 1) for g in items]
    text = {fold(g[0].text): sql[start:end] for g, (start, end) in zip(items, spans, strict=True)}
    if sorted(text) != sorted(order) or len(text) != len(spans):
        raise ValueError("the order does not name exactly the statement's columns")
    pieces, at = [], 0
    for (start, end), key in zip(spans, order, strict=True):
        pieces += [sql[at:start], text[key]]
        at = end
    return "".join(pieces) + sql[at:]


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


@lru_cache(maxsize=2 * PARSED)
def split_create_index(sql: str) -> IndexDDL:
    """Split a CREATE INDEX statement into its key expressions and WHERE clause (remembered by text).

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


@lru_cache(maxsize=PARSED)
def is_column_ref(sql: str) -> bool:
    """Whether an index key expression is a bare column name."""
    tokens = tokenize(sql)
    return len(tokens) == 1 and tokens[0].token_type in (TokenType.IDENTIFIER, TokenType.VAR)


def qualify_index(sql: str) -> str:
    """Return a CREATE INDEX statement with its index name qualified by ``main.``."""
    tokens = tokenize(sql)
    on = next(i for i, t in enumerate(tokens) if t.token_type == TokenType.ON)
    name = tokens[on - 1]
    if on >= 2 and tokens[on - 2].token_type == TokenType.DOT:
        return sql
    return f"{sql[: name.start]}main.{quote(name.text)}{sql[name.end + 1 :]}"


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
    """Return ``INSERT``, ``UPDATE`` or ``DELETE``: what fires a CREATE TRIGGER statement.

    Read by position: after ``TRIGGER``, an optional ``IF NOT EXISTS``, the
    (maybe qualified) name and an optional ``BEFORE``, ``AFTER`` or
    ``INSTEAD OF`` comes the event.

    Raises:
        ValueError: If the statement has no event where SQLite's grammar puts it.
    """
    words = [(t.token_type, t.text.upper()) for t in tokenize(sql)]
    at = next((i for i, (kind, _) in enumerate(words) if kind == TokenType.TRIGGER), len(words)) + 1
    if [w for _, w in words[at : at + 3]] == ["IF", "NOT", "EXISTS"]:
        at += 3
    at += 1  # the name
    while at + 1 < len(words) and words[at][0] == TokenType.DOT:
        at += 2
    if at < len(words) and words[at][1] in ("BEFORE", "AFTER"):
        at += 1
    elif [w for _, w in words[at : at + 2]] == ["INSTEAD", "OF"]:
        at += 2
    event = words[at][1] if at < len(words) and words[at][0] != TokenType.IDENTIFIER else ""
    if event not in ("INSERT", "UPDATE", "DELETE"):
        raise ValueError(f"no INSERT, UPDATE or DELETE event where one belongs in {sql[:80]!r}")
    return event
