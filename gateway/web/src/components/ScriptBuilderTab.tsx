// The controller of the inline Script Builder (seed §2): it owns the inline
// script-builder session, the drafting conversation, the editor buffer and the
// AI/editor mode, and the one terminal action, Submit → PATCH …/script.
// Mode and buffer are saved to the server, so a refresh resumes where the
// engineer was. Submit never stamps `applied_at`.
import { lazy, Suspense, useCallback, useEffect, useId, useMemo, useRef, useState, type Ref } from 'react'
import * as api from '../api/client'
import type { BuilderMessage, BuilderSession, EditorMode, SuggestedFix } from '../api/types'
import { useAction } from '../lib/hooks'
import { placeholders, scaffoldFor } from '../lib/scripts'
import { LANGUAGE_LABEL } from '../lib/words'
import { ErrorNote, LoadFailed, Loading } from './ErrorNote'
import { ScriptBuilderChat } from './ScriptBuilderChat'

const CodeEditor = lazy(() => import('./CodeEditor'))
const DRAFT_SAVE_DELAY_MS = 600

// issue-10: the inline session will be keyed by fix; today it is shared by the
// AI session's fixes, so the tab shows the part of the conversation held since
// this fix was proposed.
function conversationFor(fix: SuggestedFix, messages: BuilderMessage[]): BuilderMessage[] {
  const since = Date.parse(fix.created_at)
  return messages.filter((m) => Date.parse(m.created_at) >= since)
}

export function ScriptBuilderTab({
  fix,
  onProgressChange,
  onScriptDrafted,
  headingRef,
}: {
  fix: SuggestedFix
  onProgressChange: (inProgress: boolean) => void
  onScriptDrafted: (fix: SuggestedFix) => void
  headingRef?: Ref<HTMLHeadingElement>
}) {
  const ids = useId()
  const [builder, setBuilder] = useState<BuilderSession | null>(null)
  const [loadError, setLoadError] = useState<unknown>(null)
  const [attempt, setAttempt] = useState(0)
  const [messages, setMessages] = useState<BuilderMessage[]>([])
  const [mode, setMode] = useState<EditorMode>('ai')
  const [buffer, setBuffer] = useState('')
  const [editorLoaded, setEditorLoaded] = useState(false)
  // Bumped when the buffer is replaced from here (scaffold, resume), so the
  // uncontrolled editor remounts with the new text.
  const [editorGeneration, setEditorGeneration] = useState(0)
  const [composer, setComposer] = useState('')
  const [selected, setSelected] = useState<BuilderMessage | null>(null)
  const [parameterValues, setParameterValues] = useState<Record<string, string>>({})
  const sending = useAction()
  const submitting = useAction()
  const saving = useAction()
  const pendingSave = useRef<number | null>(null)
  const latest = useRef({ buffer, mode, builderId: '' })
  latest.current = { buffer, mode, builderId: builder?.id ?? '' }
  const signal = useRef<AbortController>(new AbortController())

  const scaffold = useMemo(
    () => scaffoldFor(fix.script_language, fix.title, fix.description),
    [fix.script_language, fix.title, fix.description],
  )

  // Get-or-create the inline session, then its conversation: once per fix (a
  // refreshed copy of the same fix, after a poll, does not start it again).
  useEffect(() => {
    const controller = new AbortController()
    signal.current = controller
    setLoadError(null)
    ;(async () => {
      const session = await api.getOrCreateInlineSession(fix, controller.signal)
      const history = await api.listMessages(session.id, controller.signal)
      setBuilder(session)
      setMessages(history)
      setMode(session.mode === 'editor' ? 'editor' : 'ai')
      setBuffer(session.editor_buffer)
      setEditorGeneration((g) => g + 1)
      if (session.mode === 'editor') setEditorLoaded(true)
    })().catch((error: unknown) => {
      if (!api.isAbort(error) && !controller.signal.aborted) setLoadError(error)
    })
    return () => controller.abort()
  }, [fix.id, attempt])

  const conversation = useMemo(() => conversationFor(fix, messages), [fix, messages])
  const inProgress =
    conversation.some((m) => m.role === 'user') || (buffer.trim() !== '' && buffer !== scaffold)
  useEffect(() => onProgressChange(inProgress), [inProgress, onProgressChange])

  const persist = useCallback(
    (nextBuffer: string, nextMode: EditorMode) => {
      const id = latest.current.builderId
      if (!id) return
      void saving.run(() => api.saveDraft(id, nextBuffer, nextMode, signal.current.signal))
    },
    [saving],
  )

  // Flush a pending buffer save when the tab goes away (session switch, submit).
  useEffect(
    () => () => {
      if (pendingSave.current !== null) {
        window.clearTimeout(pendingSave.current)
        const { builderId, buffer: b, mode: m } = latest.current
        if (builderId) void api.saveDraft(builderId, b, m).catch(() => undefined)
      }
    },
    [],
  )

  function changeBuffer(next: string): void {
    setBuffer(next)
    if (pendingSave.current !== null) window.clearTimeout(pendingSave.current)
    pendingSave.current = window.setTimeout(() => {
      pendingSave.current = null
      persist(latest.current.buffer, latest.current.mode)
    }, DRAFT_SAVE_DELAY_MS)
  }

  function switchMode(next: EditorMode): void {
    let nextBuffer = buffer
    if (next === 'editor' && buffer.trim() === '') {
      nextBuffer = scaffold
      setEditorGeneration((g) => g + 1)
    }
    if (pendingSave.current !== null) {
      window.clearTimeout(pendingSave.current)
      pendingSave.current = null
    }
    setBuffer(nextBuffer)
    setMode(next)
    if (next === 'editor') setEditorLoaded(true)
    persist(nextBuffer, next)
  }

  async function send(): Promise<void> {
    const content = composer.trim()
    if (!content || !builder) return
    const exchange = await sending.run(() =>
      api.sendDrafterMessage(builder.id, content, fix, signal.current.signal),
    )
    if (!exchange) return
    setMessages((previous) => [...previous, exchange.user_message, exchange.assistant_message])
    setComposer('')
  }

  const script = mode === 'editor' ? buffer : (selected?.script ?? '')
  const names = useMemo(() => placeholders(script), [script])

  async function submit(): Promise<void> {
    if (!script.trim()) return
    const values: Record<string, string> = {}
    for (const name of names) values[name] = parameterValues[name] ?? ''
    const updated = await submitting.run(() =>
      api.submitFixScript(fix, script, api.draftedParametersPayload(values), signal.current.signal),
    )
    if (!updated) return
    // The draft is done: clear it so the dot clears and nothing stale resumes.
    if (pendingSave.current !== null) window.clearTimeout(pendingSave.current)
    pendingSave.current = null
    setBuffer('')
    setSelected(null)
    if (builder) void api.saveDraft(builder.id, '', 'ai').catch(() => undefined)
    onScriptDrafted(updated)
  }

  const headingId = `${ids}-heading`
  if (loadError) {
    return (
      <section className="sb-tab" aria-labelledby={headingId}>
        <h2 id={headingId} ref={headingRef} tabIndex={-1}>
          Script Builder · {fix.title}
        </h2>
        <LoadFailed error={loadError} onRetry={() => setAttempt((a) => a + 1)} what="the Script Builder" />
      </section>
    )
  }

  return (
    <section className="sb-tab" aria-labelledby={headingId}>
      <header className="sb-tab__header">
        <h2 id={headingId} ref={headingRef} tabIndex={-1}>
          Script Builder · {fix.title}
        </h2>
        <div className="toolbar" role="toolbar" aria-label="Script Builder mode">
          {mode === 'ai' ? (
            <button type="button" onClick={() => switchMode('editor')} disabled={!builder}>
              ✎ Write myself
            </button>
          ) : (
            <button type="button" onClick={() => switchMode('ai')} disabled={!builder}>
              ✨ Back to AI
            </button>
          )}
        </div>
      </header>
      <p className="hint">
        {LANGUAGE_LABEL[fix.script_language]}. {fix.description}
      </p>
      {!builder ? (
        <Loading what="the Script Builder" />
      ) : (
        <>
          <div className="sb-mode" hidden={mode !== 'ai'}>
            <ScriptBuilderChat
              messages={conversation}
              isLoading={sending.busy}
              onUseScript={(message) => setSelected(message)}
              selectedMessageId={selected?.id ?? null}
              emptyText="Describe what the script should do; the drafter answers with a script you can use."
            />
            <form
              className="composer"
              onSubmit={(event) => {
                event.preventDefault()
                void send()
              }}
            >
              <label htmlFor={`${ids}-composer`}>Message the drafter</label>
              <div className="composer-row">
                <textarea
                  id={`${ids}-composer`}
                  value={composer}
                  onChange={(e) => setComposer(e.target.value)}
                  rows={2}
                  onKeyDown={(e) => {
                    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
                      e.preventDefault()
                      void send()
                    }
                  }}
                />
                <button type="submit" disabled={sending.busy || !composer.trim()}>
                  Send
                </button>
              </div>
              <ErrorNote error={sending.error} onRetry={() => void send()} />
            </form>
          </div>
          {editorLoaded ? (
            <div className="sb-mode" hidden={mode !== 'editor'}>
              <Suspense fallback={<Loading what="the editor" />}>
                <CodeEditor
                  key={editorGeneration}
                  initialValue={buffer}
                  language={fix.script_language}
                  onChange={changeBuffer}
                  label={`Script for ${fix.title}`}
                />
              </Suspense>
              <p className="hint">In the editor, Tab indents; press Ctrl+M first to move focus with Tab.</p>
            </div>
          ) : null}
          <ErrorNote error={saving.error} onRetry={() => persist(buffer, mode)} />
          <div className="submit-area">
            {mode === 'ai' && !selected ? (
              <p className="hint">Choose “Use this script” on a drafted answer, or write it yourself.</p>
            ) : null}
            {mode === 'ai' && selected ? (
              <p className="hint">Using the script from the drafter's answer.</p>
            ) : null}
            {names.length ? (
              <fieldset className="parameters">
                <legend>Parameters (default values, optional)</legend>
                {names.map((name) => (
                  <div className="field field--inline" key={name}>
                    <label htmlFor={`${ids}-param-${name}`}>
                      <code>{name}</code>
                    </label>
                    <input
                      id={`${ids}-param-${name}`}
                      value={parameterValues[name] ?? ''}
                      onChange={(e) => setParameterValues({ ...parameterValues, [name]: e.target.value })}
                      autoComplete="off"
                      spellCheck={false}
                    />
                  </div>
                ))}
              </fieldset>
            ) : null}
            <div className="actions">
              <button
                type="button"
                className="primary"
                onClick={() => void submit()}
                disabled={submitting.busy || !script.trim()}
                aria-describedby={submitting.error ? `${ids}-submit-error` : undefined}
              >
                Submit
              </button>
              <ErrorNote id={`${ids}-submit-error`} error={submitting.error} onRetry={() => void submit()} />
            </div>
          </div>
        </>
      )}
    </section>
  )
}
