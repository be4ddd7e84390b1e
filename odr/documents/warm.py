"""Imported once by the render forkserver: one tiny render in Latin and Chinese, so that each
child forked from it starts with fonts and layout warm (about half the first render's cost)."""

from odr.documents.render import render_pdf

render_pdf(
    '<html lang="zh-Hans"><p>ODR 和解协议 和解協議</p></html>',
    title="warm-up",
    language="en",
    author="ODR",
)
