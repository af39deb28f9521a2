"""The pure core: the product's vocabulary and every decision, without I/O.

Spec, live account, diff, rules, plan, planning and the saved plan file are values and
pure functions here; reading the account, applying and the command line are the edges
(``reconciler.observe``, ``reconciler.apply``, ``reconciler.cli``) and import this
package, never the reverse. ``docs/architecture.md`` draws the layers.
"""
