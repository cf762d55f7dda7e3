# The merge's verify: VERSION is a version number and no file has a conflict marker left.
grep -qx '[0-9]*\.[0-9]*\.[0-9]*' VERSION || { echo "VERSION is not x.y.z: $(cat VERSION)"; exit 1; }
if grep -n '^<<<<<<<\|^>>>>>>>' CHANGELOG.md VERSION; then echo 'conflict markers left'; exit 1; fi
echo "check passed: version $(cat VERSION)"
