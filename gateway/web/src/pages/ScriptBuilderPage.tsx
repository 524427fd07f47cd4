// The standalone Script Builder: personal drafting sessions (at most 5),
// each a conversation with the drafter, saved as a template when ready.
import { useEffect, useId, useMemo, useState } from 'react'
import * as api from '../api/client'
import {
  LANGUAGES,
  PARAMETER_TYPES,
  type BuilderMessage,
  type BuilderSession,
  type Language,
  type ParameterType,
  type ScriptTemplate,
  type TemplateParameter,
} from '../api/types'
import { Dialog } from '../components/Dialog'
import { ErrorNote, LoadFailed, Loading } from '../components/ErrorNote'
import { ScriptBuilderChat } from '../components/ScriptBuilderChat'
import { markFirstRender } from '../firstRender'
import { useAction, useLoader } from '../lib/hooks'
import { declareParameters } from '../lib/scripts'
import { formatTime, LANGUAGE_LABEL } from '../lib/words'
import { Link, navigate } from '../router'

export function ScriptBuilderPage({ sessionId, canWrite }: { sessionId: string | null; canWrite: boolean }) {
  const ids = useId()
  const sessions = useLoader((signal) => api.listBuilderSessions(signal), [])
  const create = useAction()
  const remove = useAction()
  const [title, setTitle] = useState('')
  const [language, setLanguage] = useState<Language>('powershell')
  const [confirmDelete, setConfirmDelete] = useState<BuilderSession | null>(null)

  useEffect(() => {
    if (sessions.data || sessions.error) markFirstRender()
  }, [sessions.data, sessions.error])

  const count = sessions.data?.length ?? 0
  const full = count >= api.STANDALONE_SESSION_CAP

  async function onCreate(): Promise<void> {
    const created = await create.run(() => api.createStandaloneSession(title.trim(), language))
    if (!created) {
      sessions.reload()
      return
    }
    setTitle('')
    sessions.setData((previous) => [created, ...(previous ?? [])])
    navigate(`/script-builder/${created.id}`)
  }

  async function onDelete(session: BuilderSession): Promise<void> {
    const done = await remove.run(async () => {
      await api.deleteBuilderSession(session.id)
      return true
    })
    setConfirmDelete(null)
    if (!done) return
    sessions.setData((previous) => (previous ?? []).filter((s) => s.id !== session.id))
    if (sessionId === session.id) navigate('/script-builder')
  }

  return (
    <div className="page builder-page">
      <div className="page-head">
        <h1 tabIndex={-1}>Script Builder</h1>
        {sessions.data ? (
          <p className="cap" aria-label={`${count} of ${api.STANDALONE_SESSION_CAP} sessions used`}>
            <strong>
              {count} of {api.STANDALONE_SESSION_CAP}
            </strong>{' '}
            sessions
          </p>
        ) : null}
      </div>
      <div className="builder-layout">
        <section className="panel" aria-labelledby={`${ids}-sessions`}>
          <h2 id={`${ids}-sessions`}>Your sessions</h2>
          {sessions.loading && !sessions.data ? <Loading what="your sessions" /> : null}
          {sessions.error ? <LoadFailed error={sessions.error} onRetry={sessions.reload} what="your sessions" /> : null}
          {sessions.data ? (
            sessions.data.length ? (
              <ul className="session-list">
                {sessions.data.map((s) => (
                  <li key={s.id} className={s.id === sessionId ? 'current' : ''}>
                    <Link to={`/script-builder/${s.id}`} aria-current={s.id === sessionId ? 'page' : undefined}>
                      {s.title || 'Untitled session'}
                    </Link>
                    <span className="hint">
                      {LANGUAGE_LABEL[s.language]} · {formatTime(s.updated_at)}
                    </span>
                    {canWrite ? (
                      <button
                        type="button"
                        className="link-button"
                        onClick={() => setConfirmDelete(s)}
                        aria-label={`Delete ${s.title || 'untitled session'}`}
                      >
                        Delete
                      </button>
                    ) : null}
                  </li>
                ))}
              </ul>
            ) : (
              <p className="hint">No sessions yet.</p>
            )
          ) : null}
          <ErrorNote error={remove.error} />
          {canWrite ? (
            <form
              className="inline-form"
              onSubmit={(event) => {
                event.preventDefault()
                void onCreate()
              }}
            >
              <h3>New session</h3>
              {full ? (
                <p className="hint">
                  You are at the cap of {api.STANDALONE_SESSION_CAP} sessions: delete one to start another.
                </p>
              ) : null}
              <div className="field">
                <label htmlFor={`${ids}-title`}>Title</label>
                <input id={`${ids}-title`} value={title} onChange={(e) => setTitle(e.target.value)} />
              </div>
              <div className="field">
                <label htmlFor={`${ids}-language`}>Language</label>
                <select
                  id={`${ids}-language`}
                  value={language}
                  onChange={(e) => setLanguage(e.target.value as Language)}
                >
                  {LANGUAGES.map((l) => (
                    <option key={l} value={l}>
                      {LANGUAGE_LABEL[l]}
                    </option>
                  ))}
                </select>
              </div>
              <div className="actions">
                <button type="submit" className="primary" disabled={create.busy}>
                  New session
                </button>
              </div>
              <ErrorNote error={create.error} onRetry={() => void onCreate()} />
            </form>
          ) : null}
        </section>
        {sessionId ? (
          <BuilderSessionView key={sessionId} sessionId={sessionId} canWrite={canWrite} />
        ) : (
          <section className="panel empty">
            <p>Open a session, or start a new one, to draft a script with the AI and save it as a template.</p>
          </section>
        )}
      </div>
      {confirmDelete ? (
        <Dialog title={`Delete “${confirmDelete.title || 'Untitled session'}”?`} onClose={() => setConfirmDelete(null)}>
          <p>Its conversation is deleted too. Templates saved from it stay in the library.</p>
          <div className="actions actions--end">
            <button type="button" onClick={() => setConfirmDelete(null)}>
              Cancel
            </button>
            <button type="button" className="danger" onClick={() => void onDelete(confirmDelete)} disabled={remove.busy}>
              Delete
            </button>
          </div>
        </Dialog>
      ) : null}
    </div>
  )
}

function BuilderSessionView({ sessionId, canWrite }: { sessionId: string; canWrite: boolean }) {
  const ids = useId()
  const loaded = useLoader(
    async (signal) => {
      const [session, messages] = await Promise.all([
        api.getBuilderSession(sessionId, signal),
        api.listMessages(sessionId, signal),
      ])
      return { session, messages }
    },
    [sessionId],
  )
  const sending = useAction()
  const [composer, setComposer] = useState('')
  const [messages, setMessages] = useState<BuilderMessage[]>([])
  const [streaming, setStreaming] = useState<{ user: BuilderMessage | null; text: string } | null>(null)

  useEffect(() => {
    if (loaded.data) setMessages(loaded.data.messages)
  }, [loaded.data])

  async function send(): Promise<void> {
    const content = composer.trim()
    if (!content) return
    setStreaming({ user: null, text: '' })
    const exchange = await sending.run(() =>
      api.sendDrafterMessage(sessionId, content, null, undefined, {
        onUserMessage: (user) => setStreaming((s) => (s ? { ...s, user } : s)),
        onText: (text) => setStreaming((s) => (s ? { ...s, text } : s)),
      }),
    )
    setStreaming(null)
    if (!exchange) return
    setMessages((previous) => [...previous, exchange.user_message, exchange.assistant_message])
    setComposer('')
  }

  const latestScript = [...messages].reverse().find((m) => m.script)?.script ?? ''
  const session = loaded.data?.session

  if (loaded.error) return <LoadFailed error={loaded.error} onRetry={loaded.reload} what="this session" />
  if (!session) return <Loading what="the session" />
  return (
    <section className="panel builder-session" aria-labelledby={`${ids}-title`}>
      <h2 id={`${ids}-title`}>
        {session.title || 'Untitled session'} <span className="hint">{LANGUAGE_LABEL[session.language]}</span>
      </h2>
      <ScriptBuilderChat
        messages={streaming?.user ? [...messages, streaming.user] : messages}
        isLoading={sending.busy}
        pendingText={streaming?.text ?? ''}
        emptyText="Describe the script you need; the drafter answers with a script."
      />
      {canWrite ? (
        <form
          className="composer"
          onSubmit={(event) => {
            event.preventDefault()
            void send()
          }}
        >
          <label htmlFor={`${ids}-composer`}>Message the drafter</label>
          <div className="composer-row">
            <textarea id={`${ids}-composer`} value={composer} onChange={(e) => setComposer(e.target.value)} rows={2} />
            <button type="submit" disabled={sending.busy || !composer.trim()}>
              Send
            </button>
          </div>
          <ErrorNote error={sending.error} onRetry={() => void send()} />
        </form>
      ) : null}
      {canWrite ? <SaveAsTemplate sessionId={sessionId} script={latestScript} defaultName={session.title} /> : null}
    </section>
  )
}

function SaveAsTemplate({ sessionId, script, defaultName }: { sessionId: string; script: string; defaultName: string }) {
  const ids = useId()
  const save = useAction()
  const [name, setName] = useState(defaultName)
  const [description, setDescription] = useState('')
  const [edits, setEdits] = useState<TemplateParameter[]>([])
  const [saved, setSaved] = useState<ScriptTemplate | null>(null)
  const parameters = useMemo(() => declareParameters(script, edits), [script, edits])

  function update(name: string, change: Partial<TemplateParameter>): void {
    const next = parameters.map((p) => (p.name === name ? { ...p, ...change } : p))
    setEdits(next)
  }

  async function onSave(): Promise<void> {
    const template = await save.run(() =>
      api.saveSessionAsTemplate(sessionId, name.trim(), description.trim(), parameters),
    )
    if (template) setSaved(template)
  }

  return (
    <form
      className="save-template"
      aria-labelledby={`${ids}-heading`}
      onSubmit={(event) => {
        event.preventDefault()
        void onSave()
      }}
    >
      <h3 id={`${ids}-heading`}>Save as template</h3>
      {!script ? <p className="hint">The drafter's latest script is saved; there is none yet.</p> : null}
      <div className="grid-2">
        <div className="field">
          <label htmlFor={`${ids}-name`}>Template name</label>
          <input id={`${ids}-name`} value={name} onChange={(e) => setName(e.target.value)} required />
        </div>
        <div className="field">
          <label htmlFor={`${ids}-description`}>Description</label>
          <input id={`${ids}-description`} value={description} onChange={(e) => setDescription(e.target.value)} />
        </div>
      </div>
      {parameters.length ? (
        <fieldset className="parameters">
          <legend>Parameters found in the script</legend>
          {parameters.map((p) => (
            <div className="parameter-row" key={p.name}>
              <code>{p.name}</code>
              <label>
                Type{' '}
                <select value={p.type} onChange={(e) => update(p.name, { type: e.target.value as ParameterType })}>
                  {PARAMETER_TYPES.map((t) => (
                    <option key={t}>{t}</option>
                  ))}
                </select>
              </label>
              <label className="checkbox">
                <input
                  type="checkbox"
                  checked={p.required}
                  onChange={(e) => update(p.name, { required: e.target.checked, default: null })}
                />
                Required
              </label>
              {p.type === 'enum' ? (
                <label>
                  Choices (comma separated){' '}
                  <input
                    value={p.choices.join(',')}
                    onChange={(e) =>
                      update(p.name, {
                        choices: e.target.value.split(',').map((c) => c.trim()).filter(Boolean),
                      })
                    }
                  />
                </label>
              ) : null}
              {!p.required ? (
                <label>
                  Default{' '}
                  <input
                    value={p.default === null ? '' : String(p.default)}
                    onChange={(e) => update(p.name, { default: defaultFor(p.type, e.target.value) })}
                  />
                </label>
              ) : null}
            </div>
          ))}
        </fieldset>
      ) : null}
      <div className="actions">
        <button type="submit" className="primary" disabled={save.busy || !name.trim()}>
          Save as template
        </button>
      </div>
      <ErrorNote error={save.error} onRetry={() => void onSave()} />
      {saved ? (
        <p role="status">
          Saved “{saved.name}”. <Link to="/script-templates">Open the template library</Link>
        </p>
      ) : null}
    </form>
  )
}

function defaultFor(type: ParameterType, text: string): TemplateParameter['default'] {
  if (text.trim() === '') return null
  if (type === 'integer' && /^-?\d+$/.test(text.trim())) return Number(text.trim())
  if (type === 'boolean') return text.trim().toLowerCase() === 'true'
  return text
}
