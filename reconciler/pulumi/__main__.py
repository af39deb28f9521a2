"""The Pulumi program's entry point (``main`` in ``Pulumi.yaml``).

Pulumi's Python host runs this file as ``__main__``; importing it does nothing. The
program itself is ``reconciler.pulumi.program.run``.
"""

if __name__ == "__main__":
    from reconciler.pulumi.program import run

    run()
