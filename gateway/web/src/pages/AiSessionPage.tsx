// The AI session screen: the chat region (timeline, ProposalBanner,
// NoTemplateDialog, the Chat / Script Builder tabs) and the task lane (fix
// list, TemplateMatchPanel). The App mounts it with `key={sessionId}`, so a
// session switch starts from fresh state, and every request of the previous
// session is aborted: a late answer cannot land on the new one.
import { useCallback, useEffect, useRef, useState } from 'react'
import * as api from '../api/client'
import type { AiSession, FixEvent, ScriptDecision, SuggestedFix } from '../api/types'
import { ChatTabStrip, TAB_IDS, type ChatTab } from '../components/ChatTabStrip'
import { EscalateInterceptDialog } from '../components/EscalateInterceptDialog'
import { ErrorNote, LoadFailed, Loading } from '../components/ErrorNote'
import { NoTemplateDialog } from '../components/NoTemplateDialog'
import { ProposalBanner } from '../components/ProposalBanner'
import { ScriptBuilderTab } from '../components/ScriptBuilderTab'
import { FixList, ProposeFixForm, sortEvents, Timeline } from '../components/SessionParts'
import { TemplateMatchPanel } from '../components/TemplateMatchPanel'
import { markFirstRender } from '../firstRender'
import { useAction, useMountSignal } from '../lib/hooks'
import { Link, navigate } from '../router'

interface SessionState {
  session: AiSession
  fixes: SuggestedFix[]
  events: FixEvent[] | null
}

const TERMINAL = new Set(['applied_success', 'applied_failed', 'dismissed'])

function defaultActiveFix(fixes: SuggestedFix[]): SuggestedFix | null {
  const open = fixes.filter((f) => !TERMINAL.has(f.status))
  return open.at(-1) ?? fixes.at(-1) ?? null
}

export function AiSessionPage({
  sessionId,
  canWrite,
  development,
}: {
  sessionId: string
  canWrite: boolean
  development: boolean
}) {
  const signal = useMountSignal()
  const [state, setState] = useState<SessionState | null>(null)
  const [loadError, setLoadError] = useState<unknown>(null)
  const [refreshError, setRefreshError] = useState<unknown>(null)
  const version = useRef(-1)
  const [activeFixId, setActiveFixId] = useState<string | null>(null)
  const [chatTab, setChatTab] = useState<ChatTab>('chat')
  const [draftInProgress, setDraftInProgress] = useState(false)
  const [dialog, setDialog] = useState<null | 'no_template' | 'escalate'>(null)
  const [templateFixId, setTemplateFixId] = useState<string | null>(null)
  const [notice, setNotice] = useState('')
  const [focusTarget, setFocusTarget] = useState<string | null>(null)
  const sessionAction = useAction()
  const heading = useRef<HTMLHeadingElement>(null)
  const builderHeading = useRef<HTMLHeadingElement>(null)
  const templateHeading = useRef<HTMLHeadingElement>(null)

  // Two steps: the session and its fixes render at once; the timeline (one
  // audit trail per fix) fills in when it arrives.
  const load = useCallback(async (): Promise<void> => {
    const [session, fixes] = await Promise.all([
      api.getAiSession(sessionId, signal),
      api.listFixes(sessionId, signal),
    ])
    if (signal.aborted) return
    version.current = session.state_version
    setState((previous) => ({ session, fixes, events: previous?.events ?? null }))
    const eventLists = await Promise.all(fixes.map((fix) => api.listFixEvents(fix, signal)))
    if (signal.aborted) return
    setState((previous) => (previous ? { ...previous, events: sortEvents(eventLists.flat()) } : previous))
  }, [sessionId, signal])

  const initialLoad = useCallback(() => {
    setLoadError(null)
    load().catch((error: unknown) => {
      if (!api.isAbort(error)) setLoadError(error)
    })
  }, [load])

  const refresh = useCallback(() => {
    load().then(
      () => setRefreshError(null),
      (error: unknown) => {
        if (!api.isAbort(error)) setRefreshError(error)
      },
    )
  }, [load])

  useEffect(() => {
    initialLoad()
    // issue-10: live updates (SSE) instead of polling; see api.watchAiSession.
    api.watchAiSession(sessionId, () => version.current, refresh, setRefreshError, signal)
  }, [sessionId, initialLoad, refresh, signal])

  const loaded = state != null
  useEffect(() => {
    if (!loaded) return
    markFirstRender()
    // The loading heading was replaced: if it had focus, give it to the real one.
    if (document.activeElement === document.body || document.activeElement === null) {
      heading.current?.focus()
    }
  }, [loaded])

  const session = state?.session ?? null
  const fixes = state?.fixes ?? []
  const activeFix = fixes.find((f) => f.id === activeFixId) ?? defaultActiveFix(fixes)
  const showTabStrip = session != null && api.needsScript(activeFix, session)
  const templateFix = fixes.find((f) => f.id === templateFixId && f.script_template_id) ?? null

  // The strip is derived; when it goes away, nobody is left on a hidden tab.
  useEffect(() => {
    if (!showTabStrip) {
      setChatTab('chat')
      setDraftInProgress(false)
    }
  }, [showTabStrip])

  useEffect(() => {
    if (!focusTarget) return
    const target =
      focusTarget === 'builder'
        ? builderHeading.current
        : focusTarget === 'template'
          ? templateHeading.current
          : document.querySelector<HTMLElement>(focusTarget)
    if (target) {
      target.focus()
      setFocusTarget(null)
    }
  })

  const mergeFix = useCallback(
    (fix: SuggestedFix) => {
      if (signal.aborted) return
      setState((previous) =>
        previous ? { ...previous, fixes: previous.fixes.map((f) => (f.id === fix.id ? fix : f)) } : previous,
      )
      refresh()
    },
    [refresh, signal],
  )

  function handleApply(fix: SuggestedFix): void {
    setActiveFixId(fix.id)
    setNotice('')
    // Seed §4: three mutually exclusive surfaces; opening one stamps nothing.
    if (fix.apply_route === 'template_match_panel') {
      setTemplateFixId(fix.id)
      setFocusTarget('template')
    } else if (fix.apply_route === 'no_template_dialog') {
      setChatTab('chat')
      setDialog('no_template')
    } else if (fix.apply_route === 'script_builder_tab') {
      setChatTab('script_builder')
      setFocusTarget('builder')
    }
  }

  const onProgressChange = useCallback((inProgress: boolean) => setDraftInProgress(inProgress), [])

  function onScriptDrafted(fix: SuggestedFix): void {
    if (signal.aborted) return
    mergeFix(fix)
    setChatTab('chat')
    setDraftInProgress(false)
    setNotice(`Script attached to “${fix.title}”. Apply now asks how you want to run it.`)
    setFocusTarget('[data-testid="proposal-banner"] h2')
  }

  function onDecided(fix: SuggestedFix, decision: ScriptDecision): void {
    if (signal.aborted) return
    mergeFix(fix)
    setDialog(null)
    if (decision === 'build_template') {
      navigate('/script-builder')
      return
    }
    setNotice(`“${fix.title}” is marked as run. Record how it went when you know.`)
    setFocusTarget('[data-testid="proposal-banner"] h2')
  }

  function onRan(fix: SuggestedFix): void {
    if (signal.aborted) return
    mergeFix(fix)
    setNotice(`“${fix.title}” is marked as run. Record how it went when you know.`)
  }

  async function resolve(): Promise<void> {
    if (!session) return
    const updated = await sessionAction.run(() => api.resolveAiSession(session, signal))
    if (updated && !signal.aborted) {
      setNotice('Session resolved. Fixes that were being verified are recorded as worked.')
      refresh()
    }
  }

  function onEscalated(updated: AiSession): void {
    if (signal.aborted) return
    setDialog(null)
    setState((previous) => (previous ? { ...previous, session: updated } : previous))
    setNotice('Session escalated.')
    setFocusTarget('h1')
    refresh()
  }

  if (loadError && !state) {
    return (
      <div className="page">
        <h1 ref={heading} tabIndex={-1}>
          AI session
        </h1>
        <LoadFailed error={loadError} onRetry={initialLoad} what="this AI session" />
        <p>
          <Link to="/">Back to sessions</Link>
        </p>
      </div>
    )
  }
  if (!state || !session) {
    return (
      <div className="page">
        <h1 ref={heading} tabIndex={-1}>
          AI session
        </h1>
        <Loading what="the session" />
      </div>
    )
  }

  const active = api.sessionIsActive(session)
  const chatPanelProps = showTabStrip
    ? {
        role: 'tabpanel',
        id: TAB_IDS.chat.panel,
        'aria-labelledby': TAB_IDS.chat.tab,
        hidden: chatTab !== 'chat',
      }
    : {}

  return (
    <div className="session-page">
      <header className="session-header">
        <div>
          <p className="crumb">
            <Link to="/">Sessions</Link> /
          </p>
          <h1 ref={heading} tabIndex={-1}>
            {session.title}{' '}
            <span className={`badge badge--session-${session.status}`}>{session.status}</span>
          </h1>
        </div>
        {canWrite && active ? (
          <div className="session-actions">
            <div className="actions">
              <button type="button" onClick={() => void resolve()} disabled={sessionAction.busy}>
                Resolve
              </button>
              <button type="button" className="danger" onClick={() => setDialog('escalate')}>
                Escalate
              </button>
            </div>
            <ErrorNote error={sessionAction.error} onRetry={() => void resolve()} />
          </div>
        ) : null}
        {session.escalation_reason ? <p className="hint">Escalated: {session.escalation_reason}</p> : null}
      </header>
      {refreshError ? (
        <div className="connection-lost" role="alert">
          <span>Lost the connection to FlowPilot; this is the last state we saw.</span>
          <button type="button" onClick={refresh}>
            Retry
          </button>
        </div>
      ) : null}
      <p className="notice" role="status">
        {notice}
      </p>
      <div className="session-body">
        <section className="chat-region" aria-label="Chat region" data-testid="chat-region">
          {showTabStrip ? (
            <ChatTabStrip active={chatTab} onSelect={setChatTab} draftInProgress={draftInProgress} />
          ) : null}
          <div className="chat-panel" {...chatPanelProps}>
            {state.events ? <Timeline events={state.events} fixes={fixes} /> : <Loading what="the activity" />}
            {activeFix ? (
              <ProposalBanner
                key={activeFix.id}
                fix={activeFix}
                session={session}
                canWrite={canWrite}
                onApply={handleApply}
                onUpdated={mergeFix}
              />
            ) : null}
            {dialog === 'no_template' && activeFix && activeFix.ai_drafted_script ? (
              <NoTemplateDialog fix={activeFix} onClose={() => setDialog(null)} onDecided={onDecided} />
            ) : null}
            {development && canWrite && active ? (
              <ProposeFixForm
                sessionId={session.id}
                onProposed={(fix) => {
                  setActiveFixId(fix.id)
                  setNotice(`Proposed “${fix.title}”.`)
                  refresh()
                }}
              />
            ) : null}
          </div>
          {showTabStrip && activeFix ? (
            <div
              className="chat-panel"
              role="tabpanel"
              id={TAB_IDS.script_builder.panel}
              aria-labelledby={TAB_IDS.script_builder.tab}
              hidden={chatTab !== 'script_builder'}
            >
              <ScriptBuilderTab
                key={activeFix.id}
                fix={activeFix}
                onProgressChange={onProgressChange}
                onScriptDrafted={onScriptDrafted}
                headingRef={builderHeading}
              />
            </div>
          ) : null}
        </section>
        <aside className="task-lane" aria-label="Task lane">
          <h2>Fixes</h2>
          <FixList fixes={fixes} activeId={activeFix?.id ?? null} onSelect={(f) => setActiveFixId(f.id)} />
          {templateFix ? (
            <TemplateMatchPanel
              key={templateFix.id}
              fix={templateFix}
              session={session}
              canWrite={canWrite}
              onClose={() => setTemplateFixId(null)}
              onRan={onRan}
              headingRef={templateHeading}
            />
          ) : null}
          <OtherSessions currentId={session.id} signal={signal} />
        </aside>
      </div>
      {dialog === 'escalate' ? (
        <EscalateInterceptDialog
          session={session}
          fixes={fixes}
          onClose={() => setDialog(null)}
          onEscalated={onEscalated}
        />
      ) : null}
    </div>
  )
}

function OtherSessions({ currentId, signal }: { currentId: string; signal: AbortSignal }) {
  const [sessions, setSessions] = useState<AiSession[]>([])
  useEffect(() => {
    api.listAiSessions(signal).then(
      (all) => setSessions(all.filter((s) => s.id !== currentId).slice(0, 8)),
      () => undefined,
    )
  }, [currentId, signal])
  if (!sessions.length) return null
  return (
    <nav className="other-sessions" aria-label="Other sessions">
      <h2>Other sessions</h2>
      <ul>
        {sessions.map((s) => (
          <li key={s.id}>
            <Link to={`/ai-sessions/${s.id}`}>{s.title}</Link> <span className="hint">{s.status}</span>
          </li>
        ))}
      </ul>
    </nav>
  )
}
