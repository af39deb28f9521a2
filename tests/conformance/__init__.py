"""Conformance with OVH's published API schemas: OVH's own descriptions of API v1 are
the judge of the sandbox's routes, answers and bodies, and of every call reconciler
makes (``docs/conformance.md``).

The schema files are OVH's and are not part of this repository: ``locate`` finds a copy
(``OVH_API_SCHEMAS`` or ``../shared/ovh-api-schemas/``), ``fetch_schemas`` downloads one.
``model`` is the validator over OVH's model language, ``operations`` the operations and
their route table, ``middleware`` / ``plugin`` the check of every sandbox answer given
during the test suite.
"""
