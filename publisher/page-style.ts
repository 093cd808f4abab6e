// The replay page's stylesheet: one constant, so the page can name it by its
// hash in a Content-Security-Policy (a page stored in a bucket has no
// per-request nonce) as well as by a nonce when the app serves it.
import { CHAPTERS_STYLE } from './chapters/chapters-page.ts';

const PAGE_STYLE = `
:root{color-scheme:light dark;--bg:#fff;--fg:#111827;--muted:#6b7280;--line:#e5e7eb;--accent:#0369a1;--hl:#e0f2fe;--hl-bar:#0284c7;--card:#f8fafc;--mark:#fde68a;--mark-bar:#d97706;--quote:#dcfce7;--quote-bar:#16a34a;--error:#b91c1c}
@media (prefers-color-scheme:dark){:root{--bg:#0f172a;--fg:#e5e7eb;--muted:#94a3b8;--line:#1e293b;--accent:#38bdf8;--hl:#0c4a6e;--hl-bar:#38bdf8;--card:#111c33;--mark:#854d0e;--mark-bar:#fbbf24;--quote:#14532d;--quote-bar:#4ade80;--error:#fca5a5}}
[hidden]{display:none!important}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;background:var(--bg);color:var(--fg);font:17px/1.6 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif}
a{color:var(--accent)}
a:focus-visible,button:focus-visible,select:focus-visible,input:focus-visible,audio:focus-visible{outline:3px solid var(--hl-bar);outline-offset:2px}
.skip{position:absolute;left:-999px;top:0}.skip:focus{left:1rem;z-index:10;background:var(--bg);padding:.25rem .5rem}
.wrap{max-width:46rem;margin:0 auto;padding:0 1rem}
header.top{padding:1rem 0 0}
.bar{position:sticky;top:0;z-index:5;background:var(--bg);border-bottom:1px solid var(--line);padding:.5rem 0}
.site{margin:0;font-size:.8rem;font-weight:700;letter-spacing:.12em;text-transform:uppercase;color:var(--accent)}
h1{margin:.15rem 0 .1rem;font-size:clamp(1.3rem,4vw,1.9rem);line-height:1.25;overflow-wrap:anywhere}
.facts{margin:0 0 .5rem;color:var(--muted);font-size:.92rem}
.live-badge{display:inline-block;background:#dc2626;color:#fff;border-radius:.25rem;padding:0 .4rem;font-size:.75rem;font-weight:700;letter-spacing:.05em;margin-right:.4rem;vertical-align:middle}
.controls{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:center}
audio{width:100%;flex:1 1 18rem;min-width:0}
.speed{display:flex;align-items:center;gap:.35rem;font-size:.9rem;color:var(--muted)}
.speed[hidden]{display:none}
select{font:inherit;color:var(--fg);background:var(--card);border:1px solid var(--line);border-radius:.375rem;padding:.15rem .35rem}
main{padding:1rem 0 2rem}
h2{font-size:1.05rem;margin:1.5rem 0 .5rem}
.transcript{list-style:none;margin:0;padding:0}
.transcript li{display:grid;grid-template-columns:4.5rem 1fr;gap:.75rem;padding:.35rem .5rem;border-left:3px solid transparent;border-radius:.25rem;scroll-margin:6rem 0 4rem}
.transcript li.line{cursor:pointer}
.transcript li.line:hover{background:var(--card)}
.transcript li.current{background:var(--hl);border-left-color:var(--hl-bar)}
.transcript p{margin:0;overflow-wrap:anywhere}
.ts{font-variant-numeric:tabular-nums;font-size:.85rem;padding-top:.15rem;text-decoration:none;color:var(--muted)}
.ts:hover,.current .ts{color:var(--accent);text-decoration:underline}
.speaker{font-weight:700}
.gap{color:var(--muted);font-style:italic}
.gap span{grid-column:2}
.empty{color:var(--muted)}
.downloads ul{list-style:none;padding:0;margin:0;display:flex;flex-wrap:wrap;gap:.5rem}
.downloads a{display:inline-block;border:1px solid var(--line);border-radius:.375rem;padding:.3rem .7rem;text-decoration:none;background:var(--card)}
footer{color:var(--muted);font-size:.85rem;padding:1rem 0 2rem}
mark{background:var(--mark);color:inherit;border-radius:.15rem}
.transcript li.hit{border-left-color:var(--mark-bar)}
.transcript li.hit-active{box-shadow:inset 0 0 0 2px var(--mark-bar)}
.transcript li.quoted,.w.quoted{background:var(--quote)}
.transcript li.quoted{border-left-color:var(--quote-bar)}
.w.quoted{border-radius:.15rem}
button,input{font:inherit;color:var(--fg)}
button{background:var(--card);border:1px solid var(--line);border-radius:.375rem;padding:.15rem .6rem;cursor:pointer}
.find{display:flex;flex-wrap:wrap;align-items:center;gap:.4rem .5rem;margin:0 0 .75rem}
.find label{font-size:.9rem;color:var(--muted)}
.find input{flex:1 1 12rem;min-width:0;background:var(--bg);border:1px solid var(--line);border-radius:.375rem;padding:.25rem .5rem}
.find-status{flex:1 0 100%;margin:0;font-size:.9rem;color:var(--muted);min-height:1.2em}
.find-status.error{color:var(--error);font-weight:600}
.hitbar{position:relative;height:.5rem;margin:.4rem 0 .1rem;background:var(--line);border-radius:.25rem}
.hitbar .tick{position:absolute;top:-.2rem;bottom:-.2rem;width:3px;margin-left:-1px;background:var(--mark-bar);border-radius:1px;cursor:pointer}
.hitbar .tick.active{background:var(--fg);width:5px;margin-left:-2px}
.quote{margin:.75rem 0 .25rem;padding:.6rem 1rem;border-left:4px solid var(--quote-bar);background:var(--card);border-radius:.25rem}
.quote blockquote{margin:0 0 .35rem;font-size:1.1rem;overflow-wrap:anywhere}
.quote blockquote p{margin:0}
.quote figcaption{font-size:.9rem;color:var(--muted)}
.quote .span{font-variant-numeric:tabular-nums}
.quote-share{position:fixed;left:50%;bottom:1rem;transform:translateX(-50%);z-index:20;display:flex;flex-wrap:wrap;align-items:center;gap:.4rem;width:min(40rem,calc(100% - 2rem));background:var(--bg);border:1px solid var(--line);border-radius:.5rem;padding:.5rem .75rem;box-shadow:0 4px 18px rgba(0,0,0,.25)}
.quote-share label{font-size:.9rem;font-weight:600}
.quote-share input{flex:1 1 14rem;min-width:0;font-size:.85rem;background:var(--card);border:1px solid var(--line);border-radius:.375rem;padding:.2rem .4rem}
#quote-copied{font-size:.85rem;color:var(--muted)}
@media (max-width:30rem){body{font-size:16px}.transcript li{grid-template-columns:3.6rem 1fr;gap:.5rem;padding:.3rem .25rem}}
@media (prefers-reduced-motion:reduce){*{scroll-behavior:auto!important}}
.embed-line{display:none}
body.embed .embed-line{margin:.25rem auto 0;font-size:.9rem;line-height:1.3;height:2.6em;overflow:hidden;display:-webkit-box;-webkit-line-clamp:2;-webkit-box-orient:vertical}
body.embed header.top{padding:.4rem 0 0}
body.embed .site{display:none}
body.embed h1{font-size:1.05rem;margin:0;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
body.embed .facts{font-size:.8rem;margin:0 0 .2rem}
body.embed .bar{position:static;border:0;padding:.2rem 0}
body.embed main,body.embed footer,body.embed .skip,body.embed .hitbar,body.embed .quote-share{display:none}
`;

/** The page's own style and the chapters' (one stylesheet, one hash). */
export const STYLE = PAGE_STYLE + CHAPTERS_STYLE;
