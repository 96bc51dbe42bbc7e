// The console's one stylesheet, served as /console/assets/console.css (a module, so the build ships it).
export const CONSOLE_CSS = `
body { font: 15px/1.45 system-ui, sans-serif; margin: 0; color: #1d2430; background: #f7f8fa; }
header { display: flex; justify-content: space-between; align-items: center; background: #1d2430; padding: 0 1rem; }
header nav ul { display: flex; gap: 1rem; list-style: none; margin: 0; padding: 0.75rem 0; flex-wrap: wrap; }
header a { color: #fff; text-decoration: none; }
header a[aria-current="page"] { text-decoration: underline; }
header .who { color: #cfd6e4; display: flex; gap: 0.5rem; align-items: center; }
main { padding: 1rem 1.5rem; }
table { border-collapse: collapse; width: 100%; background: #fff; margin: 0.5rem 0 1rem; }
th, td { border-bottom: 1px solid #dde2ea; padding: 0.35rem 0.5rem; text-align: left; vertical-align: top; }
th { background: #eef1f5; }
form.inline { display: inline; }
fieldset { border: 1px solid #dde2ea; background: #fff; margin: 0.5rem 0 1rem; }
label { display: inline-block; margin: 0.25rem 1rem 0.25rem 0; }
.field label { margin-right: 0.25rem; }
.field { display: inline-block; margin-right: 1rem; }
button { cursor: pointer; }
:focus-visible { outline: 3px solid #2f6fde; outline-offset: 2px; }
.notice { background: #e6f4ea; padding: 0.5rem; }
.problem { background: #fde8e8; padding: 0.5rem; }
.warning { background: #fff4d6; border: 2px solid #c98a00; padding: 0.75rem; font-weight: 600; }
ol.steps { padding-left: 1.25rem; margin: 0; }
fieldset.step { margin: 0.25rem 0 0.75rem; }
details { margin: 0.5rem 0; }
.secret { font-family: monospace; background: #fff; padding: 0.5rem; border: 1px dashed #888; }
`;
