// A small line diff (longest common subsequence), enough to mark which lines
// of the script about to run differ from the AI's draft or the template's
// render; no diff package in the bundle for three short texts.

export type DiffOp = { kind: 'same' | 'added' | 'removed'; text: string }

/** Beyond this many line pairs, every line is compared by position instead. */
const MAX_CELLS = 1_000_000

export function splitLines(text: string): string[] {
  if (text === '') return []
  return text.replace(/\r\n/g, '\n').replace(/\n$/, '').split('\n')
}

/** The edit from `before` to `after`, line by line, in order. */
export function lineDiff(before: string, after: string): DiffOp[] {
  const a = splitLines(before)
  const b = splitLines(after)
  if (a.length * b.length > MAX_CELLS) {
    const ops: DiffOp[] = []
    for (let i = 0; i < Math.max(a.length, b.length); i += 1) {
      if (a[i] === b[i]) ops.push({ kind: 'same', text: a[i] })
      else {
        if (i < a.length) ops.push({ kind: 'removed', text: a[i] })
        if (i < b.length) ops.push({ kind: 'added', text: b[i] })
      }
    }
    return ops
  }
  // lengths[i][j]: the longest common subsequence of a[i:] and b[j:].
  const lengths: Uint32Array[] = Array.from({ length: a.length + 1 }, () => new Uint32Array(b.length + 1))
  for (let i = a.length - 1; i >= 0; i -= 1) {
    for (let j = b.length - 1; j >= 0; j -= 1) {
      lengths[i][j] = a[i] === b[j] ? lengths[i + 1][j + 1] + 1 : Math.max(lengths[i + 1][j], lengths[i][j + 1])
    }
  }
  const ops: DiffOp[] = []
  let i = 0
  let j = 0
  while (i < a.length && j < b.length) {
    if (a[i] === b[j]) {
      ops.push({ kind: 'same', text: a[i] })
      i += 1
      j += 1
    } else if (lengths[i + 1][j] >= lengths[i][j + 1]) {
      ops.push({ kind: 'removed', text: a[i] })
      i += 1
    } else {
      ops.push({ kind: 'added', text: b[j] })
      j += 1
    }
  }
  for (; i < a.length; i += 1) ops.push({ kind: 'removed', text: a[i] })
  for (; j < b.length; j += 1) ops.push({ kind: 'added', text: b[j] })
  return ops
}

/** "3 lines differ" / "the same": how far `after` is from `before`. */
export function describeDifference(before: string, after: string): string {
  const ops = lineDiff(before, after)
  const added = ops.filter((op) => op.kind === 'added').length
  const removed = ops.filter((op) => op.kind === 'removed').length
  if (!added && !removed) return 'the same'
  const parts: string[] = []
  if (added) parts.push(`${added} line${added === 1 ? '' : 's'} added`)
  if (removed) parts.push(`${removed} removed`)
  return parts.join(', ')
}
