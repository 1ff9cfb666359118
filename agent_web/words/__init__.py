"""More of the console's words, one module per part of the console (each a ``ROWS`` list of
(key, 中文, English)), so parts built side by side add their words without touching the same
lines. :mod:`agent_web.i18n` gathers them; a key defined twice is an error."""
