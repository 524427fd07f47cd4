import { Component, useEffect, useId, useRef, useState, useSyncExternalStore, type ReactNode } from 'react'
import * as auth from './auth'
import { markFirstRender } from './firstRender'
import { AiSessionPage } from './pages/AiSessionPage'
import { ScriptBuilderPage } from './pages/ScriptBuilderPage'
import { SessionsPage } from './pages/SessionsPage'
import { TemplatesPage } from './pages/TemplatesPage'
import { AnalyticsPage } from './pages/AnalyticsPage'
import { Link, matchRoute, usePath } from './router'

function isDevelopment(): boolean {
  return document.querySelector<HTMLMetaElement>('meta[name="flowpilot-env"]')?.content === 'development'
}

export function App() {
  const token = useSyncExternalStore(auth.subscribe, auth.getToken)
  return <ErrorBoundary>{token ? <Shell token={token} /> : <SignIn />}</ErrorBoundary>
}

function SignIn() {
  const ids = useId()
  const [value, setValue] = useState('')
  const [problem, setProblem] = useState<string | null>(null)
  const reason = auth.signOutReason()
  const heading = useRef<HTMLHeadingElement>(null)

  useEffect(() => {
    markFirstRender()
    heading.current?.focus()
  }, [])

  return (
    <main className="sign-in" id="main">
      <h1 ref={heading} tabIndex={-1}>
        Sign in to FlowPilot
      </h1>
      {reason === 'rejected' ? (
        <p className="error-note" role="alert">
          FlowPilot did not accept your token (it may have expired). Paste a new one to continue.
        </p>
      ) : null}
      {reason === 'signed_out' ? <p role="status">You are signed out.</p> : null}
      <form
        onSubmit={(event) => {
          event.preventDefault()
          const token = value.trim().replace(/^Bearer\s+/i, '')
          if (!auth.readClaims(token)) {
            setProblem('That does not look like a FlowPilot token: it should be three dot-separated parts (a JWT).')
            return
          }
          setProblem(null)
          auth.setToken(token)
        }}
      >
        <label htmlFor={`${ids}-token`}>Access token</label>
        <textarea
          id={`${ids}-token`}
          value={value}
          onChange={(e) => setValue(e.target.value)}
          rows={4}
          spellCheck={false}
          autoComplete="off"
          aria-describedby={`${ids}-help`}
          aria-invalid={problem ? true : undefined}
          className="mono"
        />
        {problem ? (
          <p className="error-note" role="alert">
            {problem}
          </p>
        ) : null}
        <p className="hint" id={`${ids}-help`}>
          Paste the bearer token your identity provider issued. On a development machine, <code>flowpilot up</code>{' '}
          prints a sign-in link, and <code>flowpilot token --user U --account A --role engineer</code> prints a token.
          The token is kept in this browser tab only.
        </p>
        <button type="submit" className="primary">
          Sign in
        </button>
      </form>
    </main>
  )
}

function Shell({ token }: { token: string }) {
  const path = usePath()
  const route = matchRoute(path)
  const claims = auth.readClaims(token)
  const canWrite = claims?.role !== 'viewer'
  const development = isDevelopment()
  const firstPath = useRef(path)

  // On navigation, move focus to the new screen's heading (screen readers
  // announce it; keyboard users start from the top of the new content).
  useEffect(() => {
    if (path === firstPath.current) return
    firstPath.current = path
    window.requestAnimationFrame(() => document.querySelector<HTMLElement>('main h1')?.focus())
  }, [path])

  let page: ReactNode
  switch (route.name) {
    case 'sessions':
      page = <SessionsPage canWrite={canWrite} />
      break
    case 'ai-session':
      page = (
        <AiSessionPage key={route.sessionId} sessionId={route.sessionId} canWrite={canWrite} development={development} />
      )
      break
    case 'script-builder':
      page = <ScriptBuilderPage sessionId={route.sessionId} canWrite={canWrite} />
      break
    case 'templates':
      page = <TemplatesPage canWrite={canWrite} />
      break
    case 'analytics':
      page = <AnalyticsPage />
      break
    default:
      page = (
        <div className="page">
          <h1 tabIndex={-1}>Page not found</h1>
          <p>
            Nothing lives at <code>{path}</code>. <Link to="/">Go to your sessions</Link>.
          </p>
        </div>
      )
  }

  const section =
    route.name === 'ai-session' ? 'sessions' : route.name === 'not-found' ? '' : route.name
  return (
    <>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="app-header">
        <span className="brand">FlowPilot</span>
        <nav aria-label="Main">
          <ul>
            <li>
              <Link to="/" aria-current={section === 'sessions' ? 'page' : undefined}>
                Sessions
              </Link>
            </li>
            <li>
              <Link to="/script-builder" aria-current={section === 'script-builder' ? 'page' : undefined}>
                Script Builder
              </Link>
            </li>
            <li>
              <Link to="/script-templates" aria-current={section === 'templates' ? 'page' : undefined}>
                Templates
              </Link>
            </li>
            <li>
              <Link to="/analytics" aria-current={section === 'analytics' ? 'page' : undefined}>
                Analytics
              </Link>
            </li>
          </ul>
        </nav>
        <div className="who">
          <span>
            {claims?.sub ?? 'unknown'} <span className="hint-on-dark">({claims?.role ?? '?'})</span>
          </span>
          <button type="button" className="on-dark" onClick={() => auth.signOut('signed_out')}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        {page}
      </main>
    </>
  )
}

class ErrorBoundary extends Component<{ children: ReactNode }, { failed: Error | null }> {
  state = { failed: null as Error | null }

  static getDerivedStateFromError(error: Error): { failed: Error } {
    return { failed: error }
  }

  render(): ReactNode {
    if (!this.state.failed) return this.props.children
    return (
      <main className="page load-failed" role="alert" id="main">
        <h1>Something went wrong</h1>
        <p>The console hit an unexpected error: {this.state.failed.message}</p>
        <button type="button" className="primary" onClick={() => window.location.reload()}>
          Reload
        </button>
      </main>
    )
  }
}
