package access

// DatasetsChanged judges every live actor connection again after the
// registry's datasets changed (one added, retired or deleted at run time):
// rights are granted per dataset, so a connection made before a dataset
// existed cannot use it. Connections whose rights changed are cut and
// reconnect under the new set. It returns how many it cut.
func (s *Service) DatasetsChanged() int {
	n := s.reevaluate()
	s.poke()
	return n
}
