"""What the tests share: servers, clients, databases, fakes and content helpers.

Imported as ``support.<module>`` (``tests/`` is on ``sys.path``: pytest puts the
directory of the root ``conftest.py`` there). Subprocess servers that load a class
from here by name need ``servers.pythonpath_env()``.
"""
