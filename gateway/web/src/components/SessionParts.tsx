// The smaller parts of the AI session screen: the activity timeline, the fix
// list, and the development "Propose a fix" form.
import { useId, useState } from 'react'
import * as api from '../api/client'
import { LANGUAGES, type FixEvent, type Language, type ScriptTemplate, type SuggestedFix } from '../api/types'
import { useAction } from '../lib/hooks'
import { describeEvent, fixStateLabel, formatTime, LANGUAGE_LABEL } from '../lib/words'
import { ErrorNote } from './ErrorNote'

export function Timeline({ events, fixes }: { events: FixEvent[]; fixes: SuggestedFix[] }) {
  const titles = new Map(fixes.map((f) => [f.id, f.title]))
  return (
    <ol className="timeline" aria-label="Session activity" data-testid="timeline">
      {events.length === 0 ? (
        <li className="hint">No activity yet. When the AI proposes a fix, it shows here.</li>
      ) : null}
      {events.map((event) => (
        <li key={`${event.fix_id}-${event.id}`} className={`event event--${event.action}`}>
          <time dateTime={event.created_at}>{formatTime(event.created_at)}</time>
          <span>{describeEvent(event, titles.get(event.fix_id) ?? 'a fix')}</span>
        </li>
      ))}
    </ol>
  )
}

export function sortEvents(events: FixEvent[]): FixEvent[] {
  return [...events].sort(
    (a, b) => Date.parse(a.created_at) - Date.parse(b.created_at) || a.state_version - b.state_version,
  )
}

export function FixList({
  fixes,
  activeId,
  onSelect,
}: {
  fixes: SuggestedFix[]
  activeId: string | null
  onSelect: (fix: SuggestedFix) => void
}) {
  if (fixes.length === 0) return <p className="hint">No fixes proposed yet.</p>
  return (
    <ul className="fix-list" aria-label="Fixes">
      {fixes.map((fix) => (
        <li key={fix.id}>
          <button
            type="button"
            className={`fix-item${fix.id === activeId ? ' fix-item--active' : ''}`}
            aria-pressed={fix.id === activeId}
            onClick={() => onSelect(fix)}
          >
            <span className="fix-item-title">{fix.title}</span>
            <span className={`badge badge--${fix.banner_mode}`}>{fixStateLabel(fix)}</span>
          </button>
        </li>
      ))}
    </ul>
  )
}

/** The AI side's call, for trying the whole flow on `flowpilot up` alone. */
export function ProposeFixForm({
  sessionId,
  onProposed,
}: {
  sessionId: string
  onProposed: (fix: SuggestedFix) => void
}) {
  const ids = useId()
  const action = useAction()
  const templatesAction = useAction()
  const [open, setOpen] = useState(false)
  const [title, setTitle] = useState('')
  const [description, setDescription] = useState('')
  const [language, setLanguage] = useState<Language>('powershell')
  const [script, setScript] = useState('')
  const [templateId, setTemplateId] = useState('')
  const [templates, setTemplates] = useState<ScriptTemplate[] | null>(null)

  async function loadTemplates(): Promise<void> {
    if (templates) return
    const page = await templatesAction.run(() => api.listTemplates({}))
    if (page) setTemplates(page.templates)
  }

  async function propose(): Promise<void> {
    const fix = await action.run(() =>
      api.proposeFix(sessionId, {
        title: title.trim(),
        description: description.trim(),
        script_language: language,
        ...(script.trim() ? { ai_drafted_script: script } : {}),
        ...(templateId ? { script_template_id: templateId } : {}),
      }),
    )
    if (!fix) return
    setTitle('')
    setDescription('')
    setScript('')
    setTemplateId('')
    onProposed(fix)
  }

  return (
    <details
      className="propose"
      open={open}
      onToggle={(e) => {
        const isOpen = (e.target as HTMLDetailsElement).open
        setOpen(isOpen)
        if (isOpen) void loadTemplates()
      }}
    >
      <summary>Propose a fix (development: what the AI would do)</summary>
      <form
        onSubmit={(event) => {
          event.preventDefault()
          void propose()
        }}
      >
        <div className="grid-2">
          <div className="field">
            <label htmlFor={`${ids}-title`}>Title</label>
            <input id={`${ids}-title`} value={title} onChange={(e) => setTitle(e.target.value)} required />
          </div>
          <div className="field">
            <label htmlFor={`${ids}-language`}>Language</label>
            <select id={`${ids}-language`} value={language} onChange={(e) => setLanguage(e.target.value as Language)}>
              {LANGUAGES.map((l) => (
                <option key={l} value={l}>
                  {LANGUAGE_LABEL[l]}
                </option>
              ))}
            </select>
          </div>
        </div>
        <div className="field">
          <label htmlFor={`${ids}-description`}>Description</label>
          <textarea id={`${ids}-description`} value={description} onChange={(e) => setDescription(e.target.value)} rows={2} />
        </div>
        <div className="field">
          <label htmlFor={`${ids}-script`}>Drafted script (optional)</label>
          <textarea
            id={`${ids}-script`}
            className="mono"
            value={script}
            onChange={(e) => setScript(e.target.value)}
            rows={3}
            spellCheck={false}
          />
        </div>
        <div className="field">
          <label htmlFor={`${ids}-template`}>Template (optional)</label>
          <select id={`${ids}-template`} value={templateId} onChange={(e) => setTemplateId(e.target.value)}>
            <option value="">No template</option>
            {(templates ?? []).map((t) => (
              <option key={t.id} value={t.id}>
                {t.name} ({LANGUAGE_LABEL[t.language]}, {t.status})
              </option>
            ))}
          </select>
          <ErrorNote error={templatesAction.error} onRetry={() => void loadTemplates()} />
        </div>
        <div className="actions">
          <button type="submit" className="primary" disabled={action.busy || !title.trim()}>
            Propose
          </button>
          <ErrorNote error={action.error} onRetry={() => void propose()} />
        </div>
      </form>
    </details>
  )
}
