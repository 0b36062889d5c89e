"""``tomllib`` on every Python the package supports: the standard library's from 3.11, the
``tomli`` backport (the same code, declared for Python < 3.11 in pyproject.toml) on 3.10.

    >>> tomllib.loads('a = 1')
    {'a': 1}
"""

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    try:
        import tomli as tomllib
    except ModuleNotFoundError as exc:
        raise ModuleNotFoundError(
            "summarizer reads TOML with the tomli package on Python 3.10 (tomllib is in the standard library "
            "from 3.11 on): install it with `pip install 'tomli>=2.0'`, or reinstall summarizer, which declares it."
        ) from exc

__all__ = ["tomllib"]
