"""Reports: figures (forest, funnel, variance pie) and the static HTML report site.

:mod:`commonfactors.report.figures` turns result objects into matplotlib figures;
:mod:`commonfactors.report.site` runs the analyses and writes the site (``make reports``,
``commonfactors report-all``) or one page for a user's own data (``commonfactors report``). Importing
this package imports neither matplotlib nor jinja2; the submodules do.
"""
