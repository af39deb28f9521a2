"""Renderers: pure functions from values (a ``Plan``, a list of services) to text.

They display and never decide: ``text`` (a terminal or a CD log), ``markdown`` (a
pull-request comment) and ``json`` (the plan file format) for plans; ``services`` for the
``reconciler services`` table. None of them performs I/O or reads the clock.
"""
