package web

func (s *Server) settingsRoutes(page func(pattern string, h pageFunc)) {}
