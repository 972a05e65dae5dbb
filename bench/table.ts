/** A table rendered both as Markdown (BENCHMARKS.md) and as aligned text (the console). */
export interface Table {
  head: string[];
  rows: string[][];
  /** Columns aligned right (numbers). */
  right?: number[];
}

export function markdownTable(table: Table): string {
  const escapeCell = (cell: string) => cell.replaceAll('|', '\\|');
  const align = table.head.map((_, i) => (table.right?.includes(i) ? '---:' : '---'));
  return [
    `| ${table.head.map(escapeCell).join(' | ')} |`,
    `| ${align.join(' | ')} |`,
    ...table.rows.map((row) => `| ${row.map(escapeCell).join(' | ')} |`),
  ].join('\n');
}

/** Plain text with `**bold**` and backticks removed. */
function plain(cell: string): string {
  return cell.replaceAll('**', '').replaceAll('`', '');
}

export function textTable(table: Table): string {
  const rows = [table.head, ...table.rows].map((row) => row.map(plain));
  const widths = table.head.map((_, i) => Math.max(...rows.map((row) => (row[i] ?? '').length)));
  const line = (row: string[]) =>
    row
      .map((cell, i) => (table.right?.includes(i) ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(rows[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)].join('\n');
}
