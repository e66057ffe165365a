"""How tall a table is drawn: every row in sight up to a point, then it scrolls."""

ROW_PX = 35  # Streamlit's height of one table row, the header row's too
MOST_ROWS = 15  # rows a table shows before it scrolls


def table_height(rows: int) -> int:
    """Pixels for a table of ``rows`` rows: all of them and the header, up to ``MOST_ROWS``
    (Streamlit's default shows about seven), plus the border."""
    return (min(rows, MOST_ROWS) + 1) * ROW_PX + 3
