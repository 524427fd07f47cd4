// The AI session screen: the chat region (timeline, ProposalBanner,
// NoTemplateDialog, the Chat / Script Builder tabs) and the task lane (fix
// list, TemplateMatchPanel). The App mounts it with `key={sessionId}`, so a
// session switch starts from fresh state, and every request of the previous
// session is aborted: a late answer cannot land on the new one.
//
// It stays current through the session's live updates (server-sent events):
// each change carries the session and the fix as they are now, merged by
// `state_version`, so an older answer never replaces a newer one. Buttons come
// from the server's `allowed_actions`; a viewer gets none.
import { useCallback, useEffect, useRef, useState } from 'react'
import * as api from '../api/client'
import type { AiSession, AiSessionChange, FixEvent, ScriptDecision, SuggestedFix } from '../api/types'
import { ChatTabStrip, TAB_IDS, type ChatTab } from '../components/ChatTabStrip'
import { EscalateInterceptDialog } from '../components/EscalateInterceptDialog'
import { ErrorNote, LoadFailed, Loading, ReloadContext } from '../components/ErrorNote'
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
  /** The fixes' audit trails as loaded; null until they arrive. */
  events: FixEvent[] | null
  /** Audit rows that arrived live (the session's own rows too). */
  liveEvents: FixEvent[]
}

function newer<T extends { state_version: number }>(known: T | undefined, incoming: T): T {
  return known && known.state_version > incoming.state_version ? known : incoming
}

function upsertFix(fixes: SuggestedFix[], fix: SuggestedFix): SuggestedFix[] {
  const known = fixes.find((f) => f.id === fix.id)
  if (!known) return [...fixes, fix].sort((a, b) => Date.parse(a.created_at) - Date.parse(b.created_at))
  const kept = newer(known, fix)
  return kept === known ? fixes : fixes.map((f) => (f.id === fix.id ? kept : f))
}

function mergeEvents(events: FixEvent[], more: FixEvent[]): FixEvent[] {
  const ids = new Set(events.map((e) => e.id))
  const added = more.filter((e) => !ids.has(e.id))
  return added.length ? sortEvents([...events, ...added]) : events
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
  const live = useRef(false)
  const watch = useRef<api.Watch | null>(null)
  const [watchState, setWatchState] = useState<api.WatchState>('connecting')
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

  // Two steps: the session and its fixes render at once; the timeline (the
  // session's audit trail) fills in when it arrives.
  const load = useCallback(async (): Promise<void> => {
    const [session, fixes] = await Promise.all([
      api.getAiSession(sessionId, signal),
      api.listFixes(sessionId, signal),
    ])
    if (signal.aborted) return
    version.current = Math.max(version.current, session.state_version)
    setState((previous) => {
      if (!previous) return { session, fixes, events: null, liveEvents: [] }
      // A live change may have landed while this load was on its way: keep the newer copy.
      let merged = previous.fixes
      for (const fix of fixes) merged = upsertFix(merged, fix)
      return { ...previous, session: newer(previous.session, session), fixes: merged }
    })
    const events = await api.listAiSessionEvents(sessionId, signal)
    if (signal.aborted) return
    setState((previous) =>
      previous ? { ...previous, events: mergeEvents(previous.events ?? [], events) } : previous,
    )
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

  const applyChange = useCallback(
    (change: AiSessionChange) => {
      if (signal.aborted) return
      const { session, fix, event } = change
      if (change.kind === 'snapshot') {
        // The watch starts here; anything that moved since the first load is read again.
        if (session && version.current >= 0 && session.state_version !== version.current) refresh()
        return
      }
      if (session) version.current = Math.max(version.current, session.state_version)
      // Resolve or escalate freezes every unfinished fix, also those the change
      // did not touch (so it carries no message for them): read the fixes again.
      if (change.kind === 'session_updated') refresh()
      setState((previous) => {
        if (!previous) return previous
        return {
          ...previous,
          session: session ? newer(previous.session, session) : previous.session,
          fixes: fix ? upsertFix(previous.fixes, fix) : previous.fixes,
          liveEvents: event ? mergeEvents(previous.liveEvents, [event]) : previous.liveEvents,
        }
      })
    },
    [refresh, signal],
  )

  useEffect(() => {
    initialLoad()
    watch.current = api.watchAiSession(
      sessionId,
      {
        onChange: applyChange,
        onStale: refresh,
        knownVersion: () => version.current,
        onError: setRefreshError,
        onState: (state) => {
          live.current = state === 'live'
          setWatchState(state)
        },
      },
      signal,
    )
  }, [sessionId, initialLoad, refresh, applyChange, signal])

  /** After this tab's own write: the live stream brings the rest; without it, read again. */
  const afterWrite = useCallback(() => {
    if (!live.current) refresh()
  }, [refresh])

  const retry = useCallback(() => {
    refresh()
    watch.current?.retry()
  }, [refresh])

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
  const showTabStrip = canWrite && api.needsScript(activeFix)
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
      setState((previous) => (previous ? { ...previous, fixes: upsertFix(previous.fixes, fix) } : previous))
      afterWrite()
    },
    [afterWrite, signal],
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
      setState((previous) => (previous ? { ...previous, session: newer(previous.session, updated) } : previous))
      refresh() // every unfinished fix is frozen now
    }
  }

  function onEscalated(updated: AiSession): void {
    if (signal.aborted) return
    setDialog(null)
    setState((previous) => (previous ? { ...previous, session: newer(previous.session, updated) } : previous))
    setNotice('Session escalated.')
    setFocusTarget('h1')
    refresh() // every unfinished fix is frozen now
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

  const canResolve = canWrite && api.sessionAllows(session, 'resolve')
  const canEscalate = canWrite && api.sessionAllows(session, 'escalate')
  const canPropose = canWrite && api.sessionAllows(session, 'propose_fix')
  const timeline = state.events ? mergeEvents(state.events, state.liveEvents) : null
  const chatPanelProps = showTabStrip
    ? {
        role: 'tabpanel',
        id: TAB_IDS.chat.panel,
        'aria-labelledby': TAB_IDS.chat.tab,
        hidden: chatTab !== 'chat',
      }
    : {}

  return (
    <ReloadContext.Provider value={refresh}>
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
            <p className="live-state" data-state={watchState}>
              {watchState === 'live' ? 'Live updates on' : watchState === 'polling' ? 'Updating every few seconds' : ''}
              {!canWrite ? ' · You are a viewer: you can read this session, not change it.' : ''}
            </p>
          </div>
          {canResolve || canEscalate ? (
            <div className="session-actions">
              <div className="actions">
                {canResolve ? (
                  <button type="button" onClick={() => void resolve()} disabled={sessionAction.busy}>
                    Resolve
                  </button>
                ) : null}
                {canEscalate ? (
                  <button type="button" className="danger" onClick={() => setDialog('escalate')}>
                    Escalate
                  </button>
                ) : null}
              </div>
              <ErrorNote error={sessionAction.error} onRetry={() => void resolve()} />
            </div>
          ) : null}
          {session.escalation_reason ? <p className="hint">Escalated: {session.escalation_reason}</p> : null}
        </header>
        {refreshError ? (
          <div className="connection-lost" role="alert">
            <span>Lost the connection to FlowPilot; this is the last state we saw.</span>
            <button type="button" onClick={retry}>
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
              {timeline ? <Timeline events={timeline} fixes={fixes} /> : <Loading what="the activity" />}
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
              {development && canPropose ? (
                <ProposeFixForm
                  sessionId={session.id}
                  onProposed={(fix) => {
                    setActiveFixId(fix.id)
                    setNotice(`Proposed “${fix.title}”.`)
                    mergeFix(fix)
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
    </ReloadContext.Provider>
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
