// Human and machine output of the operator CLI.

/** A table column: its header and how to get the cell text from a row. */
export interface Column<T> {
  header: string
  value: (row: T) => string
}

/** Formats rows as left-aligned columns separated by two spaces, with an upper-case header line. */
export function formatTable<T>(rows: readonly T[], columns: readonly Column<T>[]): string {
  const cells = rows.map((row) => columns.map((column) => column.value(row)))
  const headers = columns.map((column) => column.header.toUpperCase())
  const widths = headers.map((header, i) => Math.max(header.length, ...cells.map((line) => line[i]?.length ?? 0)))
  const lines = [headers, ...cells].map((line) =>
    line
      .map((cell, i) => cell.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd(),
  )
  return `${lines.join('\n')}\n`
}

/** Formats one record as `key: value` lines, with keys aligned. */
export function formatRecord(fields: ReadonlyArray<readonly [string, string]>): string {
  const width = Math.max(...fields.map(([key]) => key.length))
  return fields.map(([key, value]) => `${`${key}:`.padEnd(width + 2)}${value}`.trimEnd()).join('\n') + '\n'
}

/** Cell text of an optional value: '-' for null, undefined and ''. */
export function text(value: unknown): string {
  if (value === null || value === undefined || value === '') return '-'
  return String(value)
}

/** Labels as `k=v,k=v`, or '-' when there are none. */
export function labelsText(labels: Record<string, string> | undefined): string {
  const pairs = Object.entries(labels ?? {}).map(([key, value]) => `${key}=${value}`)
  return pairs.length === 0 ? '-' : pairs.join(',')
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`)
}

export function print(textOutput: string): void {
  process.stdout.write(textOutput)
}
