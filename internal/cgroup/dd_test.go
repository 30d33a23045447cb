package cgroup_test
import ("testing";"os";"path/filepath";"github.com/gotune/gotune/internal/cgroup")
func TestDumpDirs(t *testing.T){ es,_:=os.ReadDir("testdata"); for _,e:=range es{ l,err:=cgroup.Read(filepath.Join("testdata",e.Name())); t.Logf("%s: %+v q=%s err=%v", e.Name(), l.Dirs, l.CPUQuotaFile, err)}}
