// "Compare": the AI's draft, the template's render and what the engineer is
// about to run, side by side in three labelled regions, before a run is
// declared (issue 16). Collapsed by default; the lines of the script about to
// run that differ from the template render (else the AI draft) are marked.
import { useId, useState } from 'react'
import { describeDifference, lineDiff } from '../lib/lineDiff'

export interface CompareText {
  /** The text, or null with `missing` saying why there is none. */
  text: string | null
  missing?: string
}

export function ThreeWayCompare({
  aiDraft,
  templateRender,
  aboutToRun,
  onOpen,
  renderTitle = 'Template render',
  renderName = 'the template render',
}: {
  renderTitle?: string
  renderName?: string
  aiDraft: CompareText
  templateRender: CompareText
  aboutToRun: CompareText
  onOpen?: () => void
}) {
  const ids = useId()
  const [open, setOpen] = useState(false)
  const base = templateRender.text ?? aiDraft.text
  const baseName = templateRender.text !== null ? renderName : 'the AI draft'
  const changed = new Set<number>()
  if (base !== null && aboutToRun.text !== null) {
    let line = 0
    for (const op of lineDiff(base, aboutToRun.text)) {
      if (op.kind === 'removed') continue
      if (op.kind === 'added') changed.add(line)
      line += 1
    }
  }
  const summary: string[] = []
  if (aboutToRun.text !== null) {
    if (aiDraft.text !== null) summary.push(`From the AI draft: ${describeDifference(aiDraft.text, aboutToRun.text)}.`)
    if (templateRender.text !== null)
      summary.push(`From ${renderName}: ${describeDifference(templateRender.text, aboutToRun.text)}.`)
  }
  const columns: { key: string; title: string; content: CompareText; marked: boolean }[] = [
    { key: 'ai', title: 'AI draft', content: aiDraft, marked: false },
    { key: 'template', title: renderTitle, content: templateRender, marked: false },
    { key: 'run', title: 'About to run', content: aboutToRun, marked: true },
  ]
  return (
    <div className="compare">
      <button
        type="button"
        className="link-button"
        aria-expanded={open}
        aria-controls={`${ids}-compare`}
        onClick={() => {
          if (!open) onOpen?.()
          setOpen(!open)
        }}
      >
        Compare
        <span className="visually-hidden"> the AI draft, the template render and what is about to run</span>
      </button>
      <div id={`${ids}-compare`} hidden={!open} data-testid="compare">
        {summary.length ? <p className="hint">{summary.join(' ')}</p> : null}
        <div className="compare-columns">
          {columns.map((column) => (
            <section key={column.key} className="compare-column" aria-labelledby={`${ids}-${column.key}`}>
              <h3 id={`${ids}-${column.key}`}>{column.title}</h3>
              {column.content.text === null ? (
                <p className="hint">{column.content.missing ?? 'Nothing to show.'}</p>
              ) : (
                <pre className="code code--scroll" tabIndex={0} aria-labelledby={`${ids}-${column.key}`}>
                  <code>
                    {column.content.text.split('\n').map((line, index) =>
                      column.marked && changed.has(index) ? (
                        <mark key={index} className="diff-changed">
                          <span className="visually-hidden">Differs from {baseName}: </span>
                          {line}
                          {'\n'}
                        </mark>
                      ) : (
                        <span key={index}>
                          {line}
                          {'\n'}
                        </span>
                      ),
                    )}
                  </code>
                </pre>
              )}
            </section>
          ))}
        </div>
      </div>
    </div>
  )
}
