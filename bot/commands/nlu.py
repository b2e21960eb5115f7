"""`motcua parse` and `motcua nlu ...` (filled in by the NLU work)."""

from __future__ import annotations

import click


@click.group()
def nlu() -> None:
    """Hiểu câu hỏi: huấn luyện và đánh giá mô hình."""


@click.command()
def parse() -> None:
    """Phân tích câu hỏi (mỗi dòng stdin) thành ý định và thủ tục, in JSON lines."""
    raise click.ClickException("chưa có")
