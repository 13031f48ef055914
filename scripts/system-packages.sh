#!/bin/sh
# The system packages mpistd needs beyond Python, for `make install` and .ci/run.
#
#   python3-venv        `python3 -m venv` on stock Debian/Ubuntu (needed: the install stops without it)
#   libpango-1.0-0      WeasyPrint's text layout, for PDF reports (optional: HTML works without)
#   libpangoft2-1.0-0   ditto
#   fonts-dejavu-core   a font for the PDF reports
#
# On Debian/Ubuntu as root, missing packages are installed with apt-get; otherwise the exact
# command is printed. A missing venv module stops the install (exit 1); missing Pango or fonts
# do not (the PDF tests skip, naming this command). The list is also in mpistd/_environment.py.
PYTHON="${PYTHON:-python3}"
PDF_PACKAGES="libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core"

missing=""
if ! "$PYTHON" -c "import ensurepip, venv" >/dev/null 2>&1; then
  if [ "$("$PYTHON" -c 'import sys; print(sys.executable)')" = "$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null)" ]; then
    venv_pkg=python3-venv
  else
    venv_pkg="$("$PYTHON" -c 'import sys; print("python%d.%d-venv" % sys.version_info[:2])')"
  fi
  missing="$venv_pkg"
fi

if ! command -v dpkg-query >/dev/null 2>&1; then
  if [ -n "$missing" ]; then
    echo "mpistd: $PYTHON cannot create virtual environments (no ensurepip): install its venv module" >&2
    exit 1
  fi
  echo "mpistd: not Debian/Ubuntu: for PDF reports install Pango (>= 1.44) and a font such as DejaVu" \
       "with your package manager (macOS: brew install pango)" >&2
  exit 0
fi

for pkg in $PDF_PACKAGES; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing="$missing $pkg"
done
missing="$(echo $missing)"  # trim
[ -z "$missing" ] && exit 0

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "mpistd: installing system packages: $missing"
  if apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing; then
    exit 0
  fi
  echo "mpistd: apt-get could not install: $missing" >&2
fi

echo "mpistd: missing system packages: $missing" >&2
echo "mpistd:   install them with:  sudo apt-get install $missing" >&2
case " $missing " in
  *-venv\ *)
    echo "mpistd: cannot create the virtual environment without $venv_pkg" >&2
    exit 1 ;;
esac
echo "mpistd: going on: HTML reports work; PDF reports need them (the PDF tests skip until then)" >&2
exit 0
