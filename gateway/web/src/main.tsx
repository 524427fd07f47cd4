import { createRoot } from 'react-dom/client'
import { App } from './App'
import { takeTokenFromFragment } from './auth'
import './styles.css'

// The development sign-in link carries the token in the URL fragment; move it
// to sessionStorage and out of the address bar before anything renders.
takeTokenFromFragment()

const root = document.getElementById('root')
if (root) createRoot(root).render(<App />)
